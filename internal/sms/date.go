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

// String writes d as 2006-01-02.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

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
