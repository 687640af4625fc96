package session

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/memory"
)

// randomWordState is a word with what the API servers send, and the odd
// texts, numbers and times they might: escapes, non-ASCII and invalid
// UTF-8 anywhere in the text, floats of every length, times with and
// without fractions and offsets.
func randomWordState(rng *rand.Rand) WordState {
	var text []byte
	for range 1 + rng.IntN(24) {
		switch rng.IntN(150) {
		case 0:
			text = append(text, `"\<&`[rng.IntN(4)])
		case 1:
			text = append(text, "ñ€😀"...)
		case 2:
			text = append(text, 0xff)
		case 3:
			text = append(text, byte(rng.IntN(0x20)))
		default:
			text = append(text, byte('a'+rng.IntN(26)))
		}
	}
	w := WordState{Word: string(text)}
	at := func() time.Time {
		t := now.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour))))
		switch rng.IntN(4) {
		case 0:
			return t.Truncate(time.Second)
		case 1:
			return t.Truncate(time.Millisecond)
		case 2:
			return t.In(time.FixedZone("", 3600*(rng.IntN(25)-12)))
		}
		return t
	}
	number := func() float64 {
		switch rng.IntN(5) {
		case 0:
			return float64(rng.IntN(11))
		case 1:
			return math.Round(rng.Float64()*1e10) / 1e8 // as FSRS rounds
		case 2:
			return rng.Float64() * math.Pow(10, float64(rng.IntN(30)-10))
		}
		return rng.Float64() * 50
	}
	if rng.IntN(4) > 0 {
		w.Last, w.Seen, w.Correct = at(), rng.IntN(30), rng.IntN(30)
		w.Stability, w.Difficulty = number(), number()
	}
	for range rng.IntN(3) {
		w.History = append(w.History, Review{At: at(), Grade: memory.Grade(rng.IntN(6))})
	}
	return w
}

// TestCanonWordAgreesWithEncodingJSON decodes what encoding/json writes
// for random words: the canonical path must read the plain ones (most of
// them), to what encoding/json reads, and leave the others to the general
// decoder as if it had not looked.
func TestCanonWordAgreesWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	canonical := 0
	const n = 20000
	for i := range n {
		want := randomWordState(rng)
		data, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var std WordState
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatal(err)
		}
		d := newDecoder(data, nil)
		var got WordState
		if !d.canonWord(&got) {
			if d.pos != 0 || len(d.reviews) != 0 || !cmp.Equal(got, WordState{}) {
				t.Fatalf("word %d: a refused word left state behind: pos %d, %d reviews, %+v", i, d.pos, len(d.reviews), got)
			}
			plain := !strings.ContainsAny(string(data), `\`) && !strings.Contains(string(data), `e`) &&
				!strings.Contains(string(data), "+") && !strings.Contains(string(data), `:"-`)
			if plain && strings.ToValidUTF8(want.Word, "") == want.Word {
				t.Errorf("word %d refused, yet in the canonical form: %s", i, data)
			}
			if err := d.word(0, &got); err != nil {
				t.Fatalf("word %d: %v: %s", i, err, data)
			}
		} else {
			canonical++
			if d.pos != len(data) {
				t.Fatalf("word %d: stopped at %d of %d: %s", i, d.pos, len(data), data)
			}
		}
		if diff := cmp.Diff(std, got); diff != "" {
			t.Fatalf("word %d (-encoding/json +ours):\n%s\n%s", i, diff, data)
		}
	}
	if canonical < n/3 {
		t.Errorf("only %d of %d words took the canonical path", canonical, n)
	}
}

// TestCanonFloatAsParseFloat checks the canonical number reader, and the
// quotients it settles itself, against strconv on literals of every
// length, the 17 digits of encoding/json's shortest form above all.
func TestCanonFloatAsParseFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	lits := []string{"0", "-0", "0.0", "1", "10", "4.2", "0.1", "0.30000000000000004", "9007199254740993", "9007199254740993.5",
		"1.0000000000000002", "0.9999999999999999", "12345678901234567890", "1234567890123456789", "0.0000000000000000001",
		"2.2250738585072014", "4503599627370497.5", "4503599627370496.5", "123456789.12345678", "99999999999999999.9"}
	for range 200000 {
		var b []byte
		if rng.IntN(8) == 0 {
			b = append(b, '-')
		}
		b = strconv.AppendUint(b, uint64(rng.IntN(1000)), 10)
		if rng.IntN(8) > 0 {
			b = append(b, '.')
			for range 1 + rng.IntN(19) {
				b = append(b, byte('0'+rng.IntN(10)))
			}
		}
		lits = append(lits, string(b))
		f := rng.Float64() * math.Pow(10, float64(rng.IntN(12)-4))
		lits = append(lits, strconv.FormatFloat(f, 'f', -1, 64))
	}
	fast, refused := 0, []string{}
	for _, lit := range lits {
		want, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			t.Fatal(err)
		}
		// Near the end of the body, and with room for eight bytes at a
		// time, followed by digits that are not the literal's.
		for _, after := range []string{",", `,"difficulty":5.123456789012345}`, "}]}" + strings.Repeat("9", 40)} {
			d := newDecoder([]byte(lit+after), nil)
			got, next, ok := d.canonFloat(0)
			if !ok || next != len(lit) || math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("canonFloat(%s) before %q = %v, %d, %v; strconv %v", lit, after, got, next, ok, want)
			}
		}
		var m uint64
		digits, exp := 0, 0
		for _, c := range strings.TrimPrefix(lit, "-") {
			if c == '.' {
				exp = -(len(lit) - strings.IndexByte(lit, '.') - 1)
				continue
			}
			m, digits = m*10+uint64(c-'0'), digits+1
		}
		if digits > 19 || m == 0 {
			continue
		}
		f, ok := floatOf(m, exp, lit[0] == '-')
		if !ok {
			refused = append(refused, lit)
		} else {
			fast++
			if math.Float64bits(f) != math.Float64bits(want) {
				t.Fatalf("floatOf(%d, %d) = %v; strconv %v", m, exp, f, want)
			}
		}
	}
	if fast < (fast+len(refused))*99/100 {
		t.Errorf("floatOf settled only %d of %d literals; refused %q", fast, fast+len(refused), refused[:min(20, len(refused))])
	}
}

// TestCanonStringAsRawString puts every kind of byte at every offset of
// strings long enough for the eight-byte scan.
func TestCanonStringAsRawString(t *testing.T) {
	for n := range 20 {
		for at := range n {
			for _, c := range []byte{'"', '\\', 0, 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xff, 'x'} {
				b := []byte(`"` + strings.Repeat("a", n))
				b[1+at] = c
				if c == 0xc3 && at+1 < n {
					b[2+at] = 0xb1 // ñ
				}
				b = append(b, `",`...)
				d := newDecoder(b, nil)
				got, next, ok := d.canonString(0)
				raw := newDecoder(b, nil)
				want, err := raw.rawString()
				// The canonical path takes what rawString shares with
				// the body: strings with no escapes, valid UTF-8.
				shared := err == nil && !strings.Contains(string(b[:raw.pos]), `\`) && want == string(b[1:raw.pos-1])
				if ok != shared {
					t.Fatalf("canonString(%q) ok = %v; rawString %q, %v", b, ok, want, err)
				}
				if ok && (got != want || next != raw.pos) {
					t.Fatalf("canonString(%q) = %q, %d; rawString %q, %d", b, got, next, want, raw.pos)
				}
			}
		}
	}
}

// TestCanonFloatRefuses checks that literals outside canonFloat's form
// are left to the general decoder, both near the end of the body and with
// room to read eight digits at a time.
func TestCanonFloatRefuses(t *testing.T) {
	for _, lit := range []string{"01", "-01.5", "00.5", "1.", "-", "-.5", ".5", "1e5", "1.5E-3", "1.5e", "+1", "1.5.", "x"} {
		for _, after := range []string{",", "," + strings.Repeat("1", 40)} {
			d := newDecoder([]byte(lit+after), nil)
			if f, next, ok := d.canonFloat(0); ok && next == len(lit) {
				t.Errorf("canonFloat(%q) before %q = %v, %d, ok", lit, after, f, next)
			}
		}
	}
}
