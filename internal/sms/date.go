package sms

import (
	"fmt"
	"sync"
	"time"
)

// DefaultTimeZone is the zone of users whose time zone is not given.
const DefaultTimeZone = "Asia/Shanghai"

// ReminderHour is the local hour at which the nightly batch starts.
const ReminderHour = 23

// Date is a calendar day, without a zone: the local date of a user.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads a date written as 2006-01-02.
func ParseDate(s string) (Date, error) {
	// The common case without time.Parse: workers read a date per job.
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, ok1 := digits(s[0:4])
		m, ok2 := digits(s[5:7])
		d, ok3 := digits(s[8:10])
		if ok1 && ok2 && ok3 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(time.Month(m), y) {
			return Date{y, time.Month(m), d}, nil
		}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: expected YYYY-MM-DD", s)
	}
	return DateOf(t, time.UTC), nil
}

// DateOf is the date of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

func digits(s string) (int, bool) {
	n := 0
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String writes d as 2006-01-02.
func (d Date) String() string {
	if d.Year < 0 || d.Year > 9999 || d.Month < 0 || d.Month > 99 || d.Day < 0 || d.Day > 99 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	// Without fmt: the batch writes a date per reminder in every statement.
	b := [10]byte{'0' + byte(d.Year/1000), '0' + byte(d.Year/100%10), '0' + byte(d.Year/10%10), '0' + byte(d.Year%10), '-',
		'0' + byte(d.Month/10), '0' + byte(d.Month%10), '-', '0' + byte(d.Day/10), '0' + byte(d.Day%10)}
	return string(b[:])
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// AddDays returns the date n days after d.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC), time.UTC)
}

// Before reports whether d comes before e.
func (d Date) Before(e Date) bool {
	return d.Year < e.Year || d.Year == e.Year && (d.Month < e.Month || d.Month == e.Month && d.Day < e.Day)
}

// Start is the first instant of d in loc.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Deadline is the user's local midnight at the end of d: no reminder for d
// may be sent at or after it.
func Deadline(d Date, loc *time.Location) time.Time {
	return d.AddDays(1).Start(loc)
}

// ReminderTime is when the batch for d starts in loc: 23:00 local time.
func ReminderTime(d Date, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, ReminderHour, 0, 0, 0, loc)
}

// LoadZone loads an IANA time zone; the empty name is DefaultTimeZone.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimeZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("time zone %q: expected an IANA zone name such as Asia/Shanghai", name)
	}
	return loc, nil
}

// Zones caches the time zones LoadZone reads: time.LoadLocation reads and
// parses the zone file on every call, which a worker would otherwise pay
// per reminder. The zero value is ready for use.
type Zones struct{ m sync.Map }

// Load is LoadZone, cached.
func (z *Zones) Load(name string) (*time.Location, error) {
	if loc, ok := z.m.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := LoadZone(name)
	if err != nil {
		return nil, err
	}
	z.m.Store(name, loc)
	return loc, nil
}

// DailyAt is a schedule that fires every day at ReminderHour in Loc. It
// implements River's PeriodicSchedule.
type DailyAt struct {
	Loc *time.Location
}

// Next returns the first 23:00 in the zone strictly after t.
func (s DailyAt) Next(t time.Time) time.Time {
	d := DateOf(t, s.Loc)
	at := ReminderTime(d, s.Loc)
	if !at.After(t) {
		at = ReminderTime(d.AddDays(1), s.Loc)
	}
	return at
}
