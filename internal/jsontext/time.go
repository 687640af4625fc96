package jsontext

import "time"

// ParseUTC reads the common form of a JSON time, 2006-01-02T15:04:05Z with
// an optional fraction of 1 to 9 digits, without time.Parse, to the value
// time.Time's UnmarshalJSON gives; false for any other form, which callers
// hand to UnmarshalJSON. It checks eight bytes at a time: the date, the
// clock and the fraction are each one 64-bit word.
func ParseUTC(s string) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[10] != 'T' {
		return time.Time{}, false
	}
	// "YYYY-MM-" and "HH:MM:SS": digits where the masks have 0xF0, the
	// separators exact.
	date, clock := LE64(s, 0), LE64(s, 11)
	const (
		dateDigits  = 0x00F0F000F0F0F0F0
		dateSeps    = 0x2D00002D00000000 // '-' at bytes 4 and 7
		clockDigits = 0xF0F000F0F000F0F0
		clockSeps   = 0x00003A00003A0000 // ':' at bytes 2 and 5
	)
	if !digitsAt(date, dateDigits, dateSeps) || !digitsAt(clock, clockDigits, clockSeps) {
		return time.Time{}, false
	}
	d0, d1 := s[8]-'0', s[9]-'0' // a byte below '0' wraps above 9
	if d0 > 9 || d1 > 9 {
		return time.Time{}, false
	}
	// Each byte becomes ten times its digit plus the next one's: the
	// two-digit numbers start at bytes 0 and 2 (year), 5 (month), and 0,
	// 3 and 6 (hour, minute, second).
	date = pairs(date, dateDigits)
	clock = pairs(clock, clockDigits)
	year := int(date&0xFF)*100 + int(date>>16&0xFF)
	month, day := int(date>>40&0xFF), int(d0)*10+int(d1)
	hour, minute, sec := int(clock&0xFF), int(clock>>24&0xFF), int(clock>>48&0xFF)
	ns := 0
	if len(s) > 20 {
		digits := len(s) - 21
		if s[19] != '.' || digits < 1 || digits > 9 {
			return time.Time{}, false
		}
		// The last eight bytes before the Z, with the bytes before the
		// fraction turned into leading zeros.
		n := min(digits, 8)
		shift := uint(8 * (8 - n))
		v := LE64(s, len(s)-9)>>shift<<shift | 0x3030303030303030>>(64-shift)
		f, ok := EightDigits(v)
		if !ok {
			return time.Time{}, false
		}
		if digits == 9 {
			c := s[20] - '0'
			if c > 9 {
				return time.Time{}, false
			}
			f += uint64(c) * 1e8
		}
		ns = int(f) * pow10[9-digits]
	}
	if uint(month-1) > 11 || uint(day-1) >= uint(daysIn(month, year)) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	return time.Unix(secs, int64(ns)).UTC(), true
}

// digitsAt reports whether v has an ASCII digit in every byte where
// digits (a mask of 0xF0 and 0x00 bytes) has 0xF0, and the bytes of seps
// where digits has 0x00.
func digitsAt(v, digits, seps uint64) bool {
	const threes, sixes = 0x3030303030303030, 0x0606060606060606
	sepMask := ^(digits | digits>>4)
	// A digit has high nibble 3, and adding 6 to it leaves that nibble
	// alone; the first test keeps the addition from carrying between
	// bytes.
	return v&digits == threes&digits && v&sepMask == seps &&
		(v+sixes&(digits>>4))&digits == threes&digits
}

// pairs turns the digit bytes of v (marked by digits, as for digitsAt)
// into their values, zeroes the other bytes, and adds to every byte ten
// times itself plus the next byte: the value of the two-digit number that
// starts there.
func pairs(v, digits uint64) uint64 {
	mask := digits | digits>>4
	v = (v - 0x3030303030303030&mask) & mask
	return v*10 + v>>8
}

// pow10 scales a fraction of 1 to 9 digits to nanoseconds.
var pow10 = [...]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// daysIn returns the number of days of the month of the proleptic
// Gregorian calendar.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// isLeap reports whether year (0 to 9999) is a leap year of the
// proleptic Gregorian calendar.
func isLeap(year int) bool {
	y := uint(year)
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

// daysBefore holds the days of a common year before the first of each
// month.
var daysBefore = [...]uint{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

// daysSinceEpoch returns the days from 1970-01-01 to the date, for years
// 0 to 9999 and a month from 1 to 12: the days of the years before it,
// with a leap day for each leap year of them (year 0 is one), then those
// of the months before it. The divisions are unsigned, by constants.
func daysSinceEpoch(year, month, day int) int64 {
	y := uint(year)
	days := 365*y + (y+3)/4 - (y+99)/100 + (y+399)/400 + daysBefore[month] + uint(day) - 1
	if month > 2 && isLeap(year) {
		days++
	}
	const to1970 = 719528 // from 0000-01-01
	return int64(days) - to1970
}

// AppendDateTime appends t's date and clock in its own location as
// 2006-01-02T15:04:05, with no fraction or zone: the start of the RFC 3339
// times JSON carries. The year must be 0 to 9999; callers format other
// times with the time package.
func AppendDateTime(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	return append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
}
