package jsontext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// marshal is s as encoding/json writes it, with or without HTML escaping.
func marshal(t testing.TB, s string, html bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func checkAppend(t testing.TB, s string) {
	t.Helper()
	if got, want := AppendString(nil, s), marshal(t, s, false); !bytes.Equal(got, want) {
		t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
	}
	if got, want := AppendStringHTML(nil, s), marshal(t, s, true); !bytes.Equal(got, want) {
		t.Fatalf("AppendStringHTML(%q) = %s, want %s", s, got, want)
	}
}

// TestAppendEveryByteAtEveryOffset checks the eight-bytes-at-a-time scan:
// every byte value, at every position of strings shorter than a word, of
// a word and of runs of words with a partial last word, must be written
// byte for byte as encoding/json writes it.
func TestAppendEveryByteAtEveryOffset(t *testing.T) {
	for n := 1; n <= 25; n++ {
		for c := range 256 {
			for pos := range n {
				in := []byte(strings.Repeat("a", n))
				in[pos] = byte(c)
				checkAppend(t, string(in))
			}
		}
	}
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnew\nline\rcr\bbs\fff",
		"\x00\x01\x1f\x7f", "ñandú 😀", "\u2028\u2029", "abc\u2028def\x7f", "12345678\u2029",
		"bad \xff utf8 \xc3", "\xed\xa0\x80", "\xe6\x97", "abcdefgé", "abcdefghé", "日本語のテキスト",
		"1234567\"", "12345678\\", "1234567<", "12345678>&", "\xf4\x90\x80\x80", "\xef\xbf\xbd",
	} {
		checkAppend(t, s)
	}
}

// TestAppendInvalidUTF8 covers every truncation of multi-byte sequences and
// every lead and continuation byte alone.
func TestAppendInvalidUTF8(t *testing.T) {
	for _, full := range []string{"é", "€", "😀", "\u2028"} {
		for n := 1; n < len(full); n++ {
			checkAppend(t, full[:n])
			checkAppend(t, "abcdefgh"+full[:n]+"ijklmnop")
			checkAppend(t, full[n:]+"x")
		}
	}
	for c := 0x80; c < 0x100; c++ {
		checkAppend(t, "x"+string([]byte{byte(c), byte(c)}))
	}
}

func TestAppendKeepsDst(t *testing.T) {
	got := AppendString([]byte("x:"), "a\"b")
	if string(got) != `x:"a\"b"` {
		t.Errorf("got %s", got)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<&>", "\u2028", "\xff", "tab\t\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAppend(t, s)
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := "GET /v1/users/{id}/sessions?lang=es " + strings.Repeat("plain ascii ", 8)
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}

func TestAppendStringMapMatchesEncodingJSON(t *testing.T) {
	for _, m := range []map[string]string{
		nil, {}, {"a": "1"}, {"z": "<&>", "a": "\u2028", "m": "\xff"},
		{"k1": "", "k2": "", "k3": "", "k4": "", "k5": "", "k6": "", "k7": "", "k8": "", "k9": "", "k0": ""},
	} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := AppendStringMap(nil, m); !bytes.Equal(got, want) {
			t.Errorf("AppendStringMap(%v) = %s, want %s", m, got, want)
		}
	}
}
