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
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	ns := 0
	if len(s) > 20 {
		digits := len(s) - 21
		if s[19] != '.' || digits < 1 || digits > 9 {
			return time.Time{}, false
		}
		f, ok := num(20, len(s)-1)
		if !ok {
			return time.Time{}, false
		}
		for range 9 - digits {
			f *= 10
		}
		ns = f
	}
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ns, time.UTC)
	if t.Day() != day { // 2026-02-30 normalises to March: not valid
		return time.Time{}, false
	}
	return t, true
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
