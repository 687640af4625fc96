package jsontext

import "time"

// ParseUTC reads the common form of a JSON time, 2006-01-02T15:04:05Z with
// an optional fraction of 1 to 9 digits, without time.Parse, to the value
// time.Time's UnmarshalJSON gives; false for any other form, which callers
// hand to UnmarshalJSON.
func ParseUTC(s string) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	bad := false
	two := func(i int) int {
		a, b := s[i]-'0', s[i+1]-'0' // a byte below '0' wraps above 9
		if a > 9 || b > 9 {
			bad = true
		}
		return int(a)*10 + int(b)
	}
	year := two(0)*100 + two(2)
	month, day := two(5), two(8)
	hour, minute, sec := two(11), two(14), two(17)
	ns := 0
	if len(s) > 20 {
		digits := len(s) - 21
		if s[19] != '.' || digits < 1 || digits > 9 {
			return time.Time{}, false
		}
		for i := 20; i < len(s)-1; i++ {
			c := s[i] - '0'
			if c > 9 {
				return time.Time{}, false
			}
			ns = ns*10 + int(c)
		}
		ns *= pow10[9-digits]
	}
	if bad || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	return time.Unix(secs, int64(ns)).UTC(), true
}

// pow10 scales a fraction of 1 to 9 digits to nanoseconds.
var pow10 = [...]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// daysIn returns the number of days of the month of the proleptic
// Gregorian calendar.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch returns the days from 1970-01-01 to the date, for years
// 0 to 9999 (Howard Hinnant's days_from_civil, shifted by 400 years so
// that its divisions see no negative year).
func daysSinceEpoch(year, month, day int) int64 {
	y := year + 400
	if month <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	doy := (153*((month+9)%12)+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468 - 146097
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
