package jsontext

import (
	"strconv"
	"testing"
)

func TestEightDigits(t *testing.T) {
	for _, s := range []string{"00000000", "12345678", "99999999", "90000001"} {
		want, _ := strconv.ParseUint(s, 10, 64)
		if got, ok := EightDigits(LE64(s, 0)); !ok || got != want {
			t.Errorf("EightDigits(%s) = %d, %v", s, got, ok)
		}
	}
	for i := range 8 {
		for _, c := range []byte{'/', ':', ' ', 0, 0x80, 0xff, 'a', '.', 0x39 + 0x80} {
			b := []byte("12345678")
			b[i] = c
			if _, ok := EightDigits(LE64(string(b), 0)); ok {
				t.Errorf("EightDigits(%q) ok", b)
			}
		}
	}
}
