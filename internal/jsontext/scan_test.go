package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
)

// checkString reads src with ReadString and checks it against
// encoding/json: the same value, and an error exactly when encoding/json
// rejects src.
func checkString(t testing.TB, src string) {
	t.Helper()
	s := Scanner{Src: src}
	s.SkipSpace() // ReadString starts at the quote, as callers use it
	got, err := s.ReadString()
	s.SkipSpace()
	if err == nil && s.Pos != len(src) {
		err = s.Errorf("unexpected %q after the string", src[s.Pos])
	}
	var want string
	jerr := json.Unmarshal([]byte(src), &want)
	switch {
	case (err == nil) != (jerr == nil):
		t.Fatalf("ReadString(%q): error %v, encoding/json: %v", src, err, jerr)
	case err == nil && got != want:
		t.Fatalf("ReadString(%q) = %q, want %q", src, got, want)
	}
}

func TestReadStringEveryByte(t *testing.T) {
	for c := range 256 {
		for _, tmpl := range []string{`"aXb"`, `"X"`, `"\X"`, `"é\uX"`, `"\u00X0"`} {
			checkString(t, strings.Replace(tmpl, "X", string([]byte{byte(c)}), 1))
		}
	}
}

func TestReadStringMatchesEncodingJSON(t *testing.T) {
	for _, src := range []string{
		`""`, `"plain"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\u20AC"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`,
		`"\ude00\ud83d"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, "\"bad \xff utf8 \xc3\"", "\"\xed\xa0\x80\"",
		`"\u12"`, `"\u12G4"`, `"abc`, `"abc\`, `"\q"`, "\"a\x01b\"", "\"é\x1f\"", `"\u2028"`, "\"\u2028\"",
	} {
		checkString(t, src)
	}
}

// TestReadStringSharesPlainText checks that a string with nothing to decode
// is a slice of Src, and that callers can tell.
func TestReadStringSharesPlainText(t *testing.T) {
	s := Scanner{Src: `"plain","d\u00e9code"`}
	v, err := s.ReadString()
	if err != nil || v != "plain" || s.Src[1:s.Pos-1] != v {
		t.Fatalf("plain: %q, %v, Pos %d", v, err, s.Pos)
	}
	s.Pos++
	start := s.Pos
	v, err = s.ReadString()
	if err != nil || v != "décode" || s.Src[start+1:s.Pos-1] == v {
		t.Fatalf("escaped: %q, %v", v, err)
	}
}

func TestErrorsCarryTheOffset(t *testing.T) {
	for _, tc := range []struct {
		src  string
		read func(*Scanner) error
		want string
	}{
		{`  x`, func(s *Scanner) error { return s.Expect('{') }, `offset 2: want '{', got 'x'`},
		{``, func(s *Scanner) error { return s.Expect('{') }, `offset 0: want '{', got the end of the line`},
		{`"ab` + "\x01", func(s *Scanner) error { _, err := s.ReadString(); return err }, `offset 3: control character 0x1 in a string`},
		{`"a\qb"`, func(s *Scanner) error { _, err := s.ReadString(); return err }, `offset 2: bad escape "\\q"`},
		{`"a\u12"`, func(s *Scanner) error { _, err := s.ReadString(); return err }, `offset 2: bad \u escape`},
		{`"abc`, func(s *Scanner) error { _, err := s.ReadString(); return err }, `offset 4: unterminated string`},
		{`12.`, func(s *Scanner) error { _, err := s.ReadNumber(); return err }, `offset 3: want a digit after '.'`},
		{`1e+`, func(s *Scanner) error { _, err := s.ReadNumber(); return err }, `offset 3: want a digit in the exponent`},
		{`-x`, func(s *Scanner) error { _, err := s.ReadNumber(); return err }, `offset 1: want a value, got 'x'`},
		{`1.5`, func(s *Scanner) error { _, err := s.ReadInt("n"); return err }, `offset 0: n: want an integer, got 1.5`},
		{`"1"`, func(s *Scanner) error { _, err := s.ReadInt("n"); return err }, `offset 0: n: want an integer, got '"'`},
		{`99999999999999999999`, func(s *Scanner) error { _, err := s.ReadInt("n"); return err }, `offset 0: n: want an integer, got 99999999999999999999`},
		{`{"a":1 "b"`, func(s *Scanner) error { return s.Skip(10) }, `offset 7: want ',' or '}', got '"'`},
		{`{"a" 1}`, func(s *Scanner) error { return s.Skip(10) }, `offset 5: want ':' after "a", got '1'`},
		{`[1,2`, func(s *Scanner) error { return s.Array("xs", func(int) error { _, err := s.ReadNumber(); return err }) }, `offset 4: xs: want ',' or ']', got the end of the line`},
		{`{}`, func(s *Scanner) error { return s.Array("xs", nil) }, `offset 0: xs: want '[', got '{'`},
		{`[[[1]]]`, func(s *Scanner) error { return s.Skip(2) }, `offset 2: nested too deeply`},
		{`tru`, func(s *Scanner) error { return s.Skip(1) }, `offset 0: want a value, got 't'`},
	} {
		s := Scanner{Src: tc.src}
		if err := tc.read(&s); err == nil || err.Error() != tc.want {
			t.Errorf("%q: error %v, want %s", tc.src, err, tc.want)
		}
	}
}

func TestReadIntAndNumber(t *testing.T) {
	for src, want := range map[string]int64{"0": 0, "-0": 0, "42": 42, "-9223372036854775808": -9223372036854775808} {
		s := Scanner{Src: src}
		if v, err := s.ReadInt("n"); err != nil || v != want {
			t.Errorf("ReadInt(%s) = %d, %v", src, v, err)
		}
	}
	for _, src := range []string{"0", "-1.5e+10", "1E3", "0.25"} {
		s := Scanner{Src: src + ","}
		if v, err := s.ReadNumber(); err != nil || v != src {
			t.Errorf("ReadNumber(%s) = %q, %v", src, v, err)
		}
	}
}

func TestObjectAndArray(t *testing.T) {
	s := Scanner{Src: ` { "a" : [1, 2] , "b":{}, "c":[] } `}
	var got []string
	err := s.Object("", func(key string) error {
		got = append(got, key)
		return s.Array(key, func(i int) error {
			if key == "a" {
				_, err := s.ReadInt(key)
				return err
			}
			return s.Skip(1)
		})
	})
	if err == nil || err.Error() != `offset 22: b: want '[', got '{'` {
		t.Fatalf("error %v", err)
	}
	if strings.Join(got, ",") != "a,b" {
		t.Errorf("keys %v", got)
	}
}

func TestSkipDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	s := Scanner{Src: nest(3)}
	if err := s.Skip(3); err != nil || s.Pos != 6 {
		t.Errorf("3 deep, max 3: %v at %d", err, s.Pos)
	}
	s = Scanner{Src: nest(4)}
	if err := s.Skip(3); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("4 deep, max 3: %v", err)
	}
}

// FuzzReadString checks ReadString against encoding/json on any input.
func FuzzReadString(f *testing.F) {
	f.Add(`"plain"`)
	f.Add(`"\ud83d\ude00 \u00e9 \n"`)
	f.Fuzz(func(t *testing.T, src string) {
		checkString(t, src)
	})
}

// FuzzSkip checks that Skip accepts one value exactly when encoding/json
// finds it valid JSON.
func FuzzSkip(f *testing.F) {
	f.Add(`{"a":[1,-2.5e3,true,false,null,"x"],"b":{}}`)
	f.Add(`[1,]`)
	f.Fuzz(func(t *testing.T, src string) {
		s := Scanner{Src: src}
		err := s.Skip(100)
		if err == nil {
			s.SkipSpace()
			if s.Pos != len(src) {
				err = s.Errorf("unexpected %q after the value", src[s.Pos])
			}
		}
		if valid := json.Valid([]byte(src)); valid != (err == nil) && strings.Count(src, "[")+strings.Count(src, "{") <= 100 {
			t.Fatalf("Skip(%q): %v, json.Valid %v", src, err, valid)
		}
	})
}
