package sms

import (
	"time"
)

// User is one recipient as stored: the phone number only as ciphertext and
// blind index.
type User struct {
	ID string
	// PhoneCiphertext is the E.164 number sealed with the user id as
	// associated data.
	PhoneCiphertext []byte
	// PhoneIndex is a keyed hash of the E.164 number, to find the user by
	// number without decrypting anything.
	PhoneIndex   []byte
	TimeZone     string
	StreakDays   int
	LastActiveAt time.Time
	OptedOut     bool
}

// Skip reasons: why a user gets no reminder on a date.
const (
	SkipOptedOut    = "opted_out"    // the user asked for no more messages
	SkipNoStreak    = "no_streak"    // there is no streak to keep
	SkipStreakLost  = "streak_lost"  // the streak already ended before the date
	SkipActiveToday = "active_today" // the user practised on the date already
	SkipDeadline    = "deadline"     // the user's local midnight passed first
	SkipBadZone     = "bad_zone"     // the stored time zone is unknown here
)

// Assess tells whether u should be reminded on date d in zone loc: the empty
// reason means yes (an active streak, no activity on d, not opted out).
func Assess(u User, d Date, loc *time.Location) (reason string) {
	switch {
	case u.OptedOut:
		return SkipOptedOut
	case u.StreakDays <= 0:
		return SkipNoStreak
	}
	last := DateOf(u.LastActiveAt, loc)
	switch {
	case !last.Before(d):
		return SkipActiveToday
	case last.Before(d.AddDays(-1)):
		return SkipStreakLost
	}
	return ""
}
