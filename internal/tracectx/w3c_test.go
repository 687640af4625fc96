package tracectx

import (
	"errors"
	"strings"
	"testing"
)

const tid = "12345678901234567890123456789012"

func TestParseTraceparent(t *testing.T) {
	for _, tc := range []struct {
		in     string
		ok     bool
		flags  byte
		reason string
	}{
		{in: "00-" + tid + "-1234567890123456-01", ok: true, flags: 1},
		{in: "00-" + tid + "-1234567890123456-03", ok: true, flags: 3},
		{in: " \t00-" + tid + "-1234567890123456-01\t ", ok: true, flags: 1},
		{in: "cc-" + tid + "-1234567890123456-01", ok: true, flags: 1},
		{in: "cc-" + tid + "-1234567890123456-01-what-the-future-will-be-like", ok: true, flags: 1},
		{in: "cc-" + tid + "-1234567890123456-01.what-the-future-will-be-like", reason: "syntax"},
		{in: "00-" + tid + "-1234567890123456-01.", reason: "syntax"},
		{in: "00-" + tid + "-1234567890123456-01-what-the-future-will-be-like", reason: "syntax"},
		{in: "ff-" + tid + "-1234567890123456-01", reason: "bad_version"},
		{in: ".0-" + tid + "-1234567890123456-01", reason: "bad_version"},
		{in: "0.-" + tid + "-1234567890123456-01", reason: "bad_version"},
		{in: "000-" + tid + "-1234567890123456-01", reason: "syntax"},
		{in: "0000-" + tid + "-1234567890123456-01", reason: "syntax"},
		{in: "0-" + tid + "-1234567890123456-01", reason: "syntax"},
		{in: "00-00000000000000000000000000000000-1234567890123456-01", reason: "bad_trace_id"},
		{in: "00-.2345678901234567890123456789012-1234567890123456-01", reason: "bad_trace_id"},
		{in: "00-1234567890123456789012345678901.-1234567890123456-01", reason: "bad_trace_id"},
		{in: "00-ABCDEF78901234567890123456789012-1234567890123456-01", reason: "bad_trace_id"},
		{in: "00-123456789012345678901234567890123-1234567890123456-01", reason: "syntax"},
		{in: "00-1234567890123456789012345678901-1234567890123456-01", reason: "syntax"},
		{in: "00-" + tid + "-0000000000000000-01", reason: "bad_parent_id"},
		{in: "00-" + tid + "-.234567890123456-01", reason: "bad_parent_id"},
		{in: "00-" + tid + "-123456789012345.-01", reason: "bad_parent_id"},
		{in: "00-" + tid + "-12345678901234567-01", reason: "syntax"},
		{in: "00-" + tid + "-123456789012345-01", reason: "syntax"},
		{in: "00-" + tid + "-1234567890123456-.0", reason: "bad_flags"},
		{in: "00-" + tid + "-1234567890123456-0.", reason: "bad_flags"},
		{in: "00-" + tid + "-1234567890123456-001", reason: "syntax"},
		{in: "00-" + tid + "-1234567890123456-1", reason: "syntax"},
	} {
		tp, err := ParseTraceparent(tc.in)
		if tc.ok {
			if err != nil {
				t.Errorf("ParseTraceparent(%q): %v", tc.in, err)
			} else if tp.TraceID.String() != tid || tp.ParentID.String() != "1234567890123456" || tp.Flags != tc.flags {
				t.Errorf("ParseTraceparent(%q) = %+v", tc.in, tp)
			}
			continue
		}
		var he *HeaderError
		if !errors.As(err, &he) || he.Reason != tc.reason {
			t.Errorf("ParseTraceparent(%q) = %v, want reason %s", tc.in, err, tc.reason)
		}
	}
}

func TestTraceparentStringZeroesUnknownFlags(t *testing.T) {
	tp, err := ParseTraceparent("00-" + tid + "-1234567890123456-ff")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tp.String(), "00-"+tid+"-1234567890123456-03"; got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
}

func TestParseTracestate(t *testing.T) {
	keyChars := "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
	var value strings.Builder
	for c := byte(0x20); c <= 0x7e; c++ {
		if c != ',' && c != '=' {
			value.WriteByte(c)
		}
	}
	var members32, members33 []string
	for i := 1; i <= 33; i++ {
		m := "bar" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "=1"
		if i <= 32 {
			members32 = append(members32, m)
		}
		members33 = append(members33, m)
	}
	for _, tc := range []struct {
		name   string
		in     []string
		want   string
		reason string
	}{
		{name: "joined in order", in: []string{"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}, want: "foo=1,bar=2,rojo=1,congo=2,baz=3"},
		{name: "empty header", in: []string{""}, want: ""},
		{name: "empty header among others", in: []string{"foo=1", ""}, want: "foo=1"},
		{name: "empty first", in: []string{"", "foo=1"}, want: "foo=1"},
		{name: "empty members", in: []string{"foo=1,,  ,bar=2"}, want: "foo=1,bar=2"},
		{name: "ows", in: []string{"foo=1 \t , \t bar=2, \t baz=3"}, want: "foo=1,bar=2,baz=3"},
		{name: "ows around", in: []string{"\t foo=1 \t"}, want: "foo=1"},
		{name: "all allowed characters", in: []string{keyChars + "=" + value.String()}, want: keyChars + "=" + value.String()},
		{name: "all allowed with vendor", in: []string{keyChars + "@a-z0-9_-*/=" + value.String()}, want: keyChars + "@a-z0-9_-*/=" + value.String()},
		{name: "32 members", in: members32, want: strings.Join(members32, ",")},
		{name: "33 members", in: members33, reason: "too_many_members"},
		{name: "key 256", in: []string{"foo=1", strings.Repeat("z", 256) + "=1"}, want: "foo=1," + strings.Repeat("z", 256) + "=1"},
		{name: "key 257", in: []string{"foo=1", strings.Repeat("z", 257) + "=1"}, reason: "bad_key"},
		{name: "tenant 241 vendor 14", in: []string{strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14) + "=1"}, want: strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14) + "=1"},
		{name: "tenant 242", in: []string{"foo=1", strings.Repeat("t", 242) + "@v=1"}, reason: "bad_key"},
		{name: "vendor 15", in: []string{"foo=1", "t@" + strings.Repeat("v", 15) + "=1"}, reason: "bad_key"},
		{name: "tenant may start with a digit", in: []string{"0t@v=1"}, want: "0t@v=1"},
		{name: "duplicate key", in: []string{"foo=1,foo=1"}, reason: "duplicate_key"},
		{name: "duplicate key across headers", in: []string{"foo=1", "foo=2"}, reason: "duplicate_key"},
		{name: "space in key", in: []string{"foo =1"}, reason: "bad_key"},
		{name: "upper case key", in: []string{"FOO=1"}, reason: "bad_key"},
		{name: "dot in key", in: []string{"foo.bar=1"}, reason: "bad_key"},
		{name: "empty vendor", in: []string{"foo@=1,bar=2"}, reason: "bad_key"},
		{name: "empty tenant", in: []string{"@foo=1,bar=2"}, reason: "bad_key"},
		{name: "two @", in: []string{"foo@@bar=1,bar=2"}, reason: "bad_key"},
		{name: "two vendors", in: []string{"foo@bar@baz=1,bar=2"}, reason: "bad_key"},
		{name: "= in value", in: []string{"foo=bar=baz"}, reason: "bad_value"},
		{name: "empty value", in: []string{"foo=,bar=3"}, reason: "bad_value"},
		{name: "value too long", in: []string{"foo=" + strings.Repeat("v", 257)}, reason: "bad_value"},
		{name: "no =", in: []string{"foo"}, reason: "syntax"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := ParseTracestate(tc.in)
			if tc.reason != "" {
				var he *HeaderError
				if !errors.As(err, &he) || he.Reason != tc.reason {
					t.Fatalf("err = %v, want reason %s", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ts.String() != tc.want {
				t.Errorf("String = %q, want %q", ts.String(), tc.want)
			}
		})
	}
}

func TestTracestateTruncation(t *testing.T) {
	long := "big=" + strings.Repeat("x", 200) // over 128 characters: dropped first
	var in []string
	for i := range 20 {
		in = append(in, "k"+strings.Repeat("a", i+1)+"="+strings.Repeat("v", 20))
	}
	in = append(in[:3], append([]string{long}, in[3:]...)...)
	ts, err := ParseTracestate([]string{strings.Join(in, ",")})
	if err != nil {
		t.Fatal(err)
	}
	got := ts.String()
	if len(got) > 512 {
		t.Fatalf("len = %d, over 512", len(got))
	}
	if strings.Contains(got, "big=") {
		t.Errorf("the member over 128 characters survived: %s", got)
	}
	if !strings.HasPrefix(got, strings.Join(in[:3], ",")+","+in[4]) {
		t.Errorf("members were not kept from the left: %s", got)
	}
	if ts.Len() != 21 {
		t.Errorf("Len = %d: the parsed list must stay whole", ts.Len())
	}
}

func FuzzParseTraceparent(f *testing.F) {
	f.Add("00-" + tid + "-1234567890123456-01")
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTraceparent(s)
		if err != nil {
			return
		}
		back, err := ParseTraceparent(tp.String())
		if err != nil || back.TraceID != tp.TraceID || back.ParentID != tp.ParentID || back.Flags != tp.Flags&knownFlags {
			t.Fatalf("round trip of %q: %+v, %v", s, back, err)
		}
	})
}

func FuzzParseTracestate(f *testing.F) {
	f.Add("foo=1,bar=2", "baz=3")
	f.Fuzz(func(t *testing.T, a, b string) {
		ts, err := ParseTracestate([]string{a, b})
		if err != nil {
			return
		}
		if len(ts.String()) > maxTracestateLen || ts.Len() > maxMembers {
			t.Fatalf("limits broken: %d members, %d characters", ts.Len(), len(ts.String()))
		}
		back, err := ParseTracestate([]string{ts.String()})
		if err != nil {
			t.Fatalf("our own output %q does not parse: %v", ts.String(), err)
		}
		if back.String() != ts.String() {
			t.Fatalf("round trip %q != %q", back.String(), ts.String())
		}
	})
}
