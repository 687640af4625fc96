package jsontext

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestParseUTCAsUnmarshalJSON checks ParseUTC against time.Time's
// UnmarshalJSON: where it says ok, the same time; where UnmarshalJSON
// fails, never ok.
func TestParseUTCAsUnmarshalJSON(t *testing.T) {
	const fast = 7 // the first ones are the form ParseUTC reads
	for i, s := range []string{
		"2026-01-02T03:04:05Z", "2026-01-02T03:04:05.1Z", "2026-01-02T03:04:05.123456Z", "2026-01-02T03:04:05.123456789Z",
		"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2024-02-29T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-02-30T00:00:00.000000Z", "2026-13-01T00:00:00Z", "2026-01-00T00:00:00Z",
		"2026-01-02T24:00:00Z", "2026-01-02T03:60:00Z", "2026-01-02T03:04:60Z", "2026-01-02T03:04:05.Z",
		"2026-01-02T03:04:05.1234567890Z", "2026-01-02T03:04:05+00:00", "2026-01-02t03:04:05Z", "2026-01-02T03:04:05,1Z",
		"2026-1-02T03:04:05Z", "yesterday", "", "2023-02-29T00:00:00Z", "+026-05-04T10:00:00Z", "2026-05-04T1a:00:00Z",
	} {
		got, ok := ParseUTC(s)
		var want time.Time
		err := want.UnmarshalJSON([]byte(`"` + s + `"`))
		if ok && (err != nil || !got.Equal(want) || got.Location() != time.UTC) {
			t.Errorf("ParseUTC(%q) = %v, UnmarshalJSON: %v, %v", s, got, want, err)
		}
		if !ok && i < fast {
			t.Errorf("ParseUTC(%q) not ok, want the fast path", s)
		}
	}
}

func FuzzParseUTC(f *testing.F) {
	f.Add("2026-01-02T03:04:05.123456Z")
	f.Add("2026-02-30T00:00:00Z")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseUTC(s)
		if !ok {
			return
		}
		var want time.Time
		if err := want.UnmarshalJSON([]byte(`"` + s + `"`)); err != nil || !got.Equal(want) {
			t.Fatalf("ParseUTC(%q) = %v, UnmarshalJSON: %v, %v", s, got, want, err)
		}
	})
}

func TestAppendDateTimeAsFormat(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(2024, 2, 29, 12, 30, 45, 0, time.FixedZone("x", 3600)),
	} {
		if got, want := string(AppendDateTime([]byte("x"), tm)), "x"+tm.Format("2006-01-02T15:04:05"); got != want {
			t.Errorf("AppendDateTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// TestParseUTCReadsEveryUTCTime formats random instants of years 0 to
// 9999 with 0 to 9 fraction digits: ParseUTC must read every one, to the
// same instant in UTC.
func TestParseUTCReadsEveryUTCTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lo, hi := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
	for range 100000 {
		tm := time.Unix(lo+rng.Int64N(hi-lo+1), rng.Int64N(1e9)).UTC()
		digits := rng.IntN(10)
		tm = tm.Truncate(time.Duration(pow10[9-digits]))
		s := tm.Format("2006-01-02T15:04:05")
		if digits > 0 {
			s += fmt.Sprintf(".%0*d", digits, tm.Nanosecond()/pow10[9-digits])
		}
		s += "Z"
		got, ok := ParseUTC(s)
		if !ok || got != tm {
			t.Fatalf("ParseUTC(%q) = %v, %v; want %v", s, got, ok, tm)
		}
	}
}

// BenchmarkParseUTC reads times as encoding/json writes them (0 to 9
// fraction digits, the trailing zeros cut), against the baseline of
// time.Time's UnmarshalJSON on the same times in the same run.
func BenchmarkParseUTC(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	var times []string
	for range 512 {
		tm := time.Unix(1.7e9+rng.Int64N(1e8), rng.Int64N(1e9)).UTC()
		tm = tm.Truncate(time.Duration(pow10[rng.IntN(10)]))
		times = append(times, tm.Format(time.RFC3339Nano))
	}
	quoted := make([][]byte, len(times))
	for i, s := range times {
		quoted[i] = []byte(`"` + s + `"`)
	}
	var base float64
	b.Run("baseline=UnmarshalJSON", func(b *testing.B) {
		var tm time.Time
		for b.Loop() {
			for _, q := range quoted {
				if err := tm.UnmarshalJSON(q); err != nil {
					b.Fatal(err)
				}
			}
		}
		base = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(base/float64(len(times)), "ns/time")
	})
	b.Run("ParseUTC", func(b *testing.B) {
		for b.Loop() {
			for _, s := range times {
				if _, ok := ParseUTC(s); !ok {
					b.Fatal(s)
				}
			}
		}
		per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(per/float64(len(times)), "ns/time")
		if base > 0 {
			b.ReportMetric(per/base, "x-baseline")
		}
	})
}
