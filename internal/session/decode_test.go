package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/owlstack/owl/internal/course/snapshot"
)

// stdDecode decodes a request with encoding/json, strictly: the reference
// the hand-written decoder must agree with.
func stdDecode(data []byte) (*APIRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var req APIRequest
	if err := dec.Decode(&req); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one value")
	}
	return &req, nil
}

// sameRequest compares decoded requests; empty and absent lists are the
// same, times compare as instants.
func sameRequest(a, b *APIRequest) string {
	return cmp.Diff(a, b, cmpopts.EquateEmpty(), cmpopts.IgnoreUnexported(APIRequest{}))
}

func TestDecoderAgreesWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	c := demoCourse(t)
	var bodies [][]byte
	for range 200 {
		u := randomUser(rng, c)
		for i := range u.Words {
			if rng.IntN(3) == 0 {
				u.Words[i].Stability = rng.Float64() * 100
				u.Words[i].Difficulty = 1 + 9*rng.Float64()
				u.Words[i].Last = now.Add(-time.Duration(rng.Int64N(int64(100 * 24 * time.Hour))))
				if rng.IntN(2) == 0 {
					u.Words[i].Last = u.Words[i].Last.In(time.FixedZone("", 3600*(rng.IntN(25)-12)))
				}
				u.Words[i].Seen, u.Words[i].Correct = 4, rng.IntN(5)
			}
		}
		body, err := json.Marshal(APIRequest{Course: "owl-demo", Skill: "101", Length: rng.IntN(60), Seed: rng.Uint64(), Now: now.Format(time.RFC3339Nano), User: u})
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	// Hand-written: white space, escapes, nulls, fractions of seconds,
	// offsets, repeated keys, non-ASCII and invalid UTF-8.
	for _, s := range []string{
		` { "course" : "owl-demo" , "skill":"101", "user" : { "id":"a\"b\\c\u00e9\ud83d\ude00", "words" : [ ] } } `,
		`{"course":"x","skill":"y","length":null,"seed":null,"now":null,"user":null}`,
		`{"course":"x","skill":"y","user":{"settings":null,"words":null}}`,
		`{"course":"x","skill":"y","user":{"settings":{"listening_off":true,"speaking_off":false,"length":7}}}`,
		`{"course":"x","skill":"y","user":{"words":[{"word":"n\u00f1","last":"2026-05-01T09:00:00.123456789Z"},{"word":"b","last":"2026-05-01T09:00:00+02:00"}]}}`,
		`{"course":"x","skill":"y","user":{"words":[{"word":"a","history":[{"at":"2024-02-29T23:59:59.5Z","grade":1},{"at":"2026-01-01T00:00:00-01:30","grade":4}]}]}}`,
		`{"course":"x","skill":"y","user":{"words":[{"word":"a","history":[{"at":"2026-01-01T00:00:00Z","grade":2}],"history":[]}]}}`,
		`{"course":"x","course":"z","skill":"y","user":{"id":"1"},"user":{"words":[{"word":"a"}]}}`,
		"{\"course\":\"\xff\xfe\",\"skill\":\"y\",\"user\":{\"id\":\"\xc3\"}}",
		`{"course":"x","skill":"y","seed":18446744073709551615,"length":-0,"user":{"words":[{"word":"a","stability":1e2,"difficulty":5.5E-0}]}}`,
		`{"course":"cour\u0073e","s\u006bill":"y"}`,
	} {
		bodies = append(bodies, []byte(s))
	}
	for i, body := range bodies {
		want, err := stdDecode(body)
		if err != nil {
			t.Fatalf("body %d: encoding/json: %v\n%s", i, err, body)
		}
		var got APIRequest
		var reviews []Review
		d := newDecoder(body, reviews)
		if err := d.request(&got); err != nil {
			t.Fatalf("body %d: %v\n%s", i, err, body)
		}
		if diff := sameRequest(want, &got); diff != "" {
			t.Errorf("body %d (-encoding/json +ours):\n%s\n%s", i, diff, body)
		}
	}
}

// TestDecoderReusesMemory decodes into the same request again and again,
// as the server does, and checks nothing of an earlier body shows.
func TestDecoderReusesMemory(t *testing.T) {
	bodies := []string{
		`{"course":"x","skill":"y","user":{"words":[{"word":"a","history":[{"at":"2026-01-01T00:00:00Z","grade":2}]},{"word":"b","stability":3,"difficulty":4}]}}`,
		`{"course":"x","skill":"y","user":{"words":[{"word":"c"}]}}`,
		`{"course":"x","skill":"y","user":{"id":"u","settings":{"length":3}}}`,
		// A repeated key replaces the words, and their hashes.
		`{"course":"x","skill":"y","user":{"words":[{"word":"d"},{"word":"e"}],"words":[{"word":"f"}]}}`,
	}
	var req APIRequest
	var reviews []Review
	var set wordSet
	for round := range 3 {
		for i, b := range bodies {
			data := []byte(b)
			if err := decodeRequest(data, &req, &reviews, &set); err != nil {
				t.Fatal(err)
			}
			want, _ := stdDecode(data)
			if diff := sameRequest(want, &req); diff != "" {
				t.Errorf("round %d body %d (-want +got):\n%s", round, i, diff)
			}
			// The generator looks the words up by the hashes the decoder
			// leaves.
			if len(set.of) != len(req.User.Words) {
				t.Fatalf("round %d body %d: %d hashes for %d words", round, i, len(set.of), len(req.User.Words))
			}
			for j, w := range req.User.Words {
				if set.of[j] != snapshot.TextHash(w.Word) {
					t.Errorf("round %d body %d: hash of word %d (%q) is not its TextHash", round, i, j, w.Word)
				}
			}
		}
	}
}

func FuzzDecoderAgrees(f *testing.F) {
	f.Add([]byte(`{"course":"x","skill":"y","user":{"words":[{"word":"a","history":[{"at":"2026-01-01T00:00:00Z","grade":2}]}]}}`))
	f.Add([]byte(`{"course":"x","skill":"y","length":1.5}`))
	f.Add([]byte(`{"course":"x\u0000","skill":"y","user":{"words":[{"word":"a","last":"2026-01-01T00:00:00+01:00"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got APIRequest
		err := newDecoder(data, nil).request(&got)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("error %T %v has no field", err, err)
			}
			return
		}
		want, err := stdDecode(data)
		if err != nil {
			t.Fatalf("we accept what encoding/json refuses (%v): %q", err, data)
		}
		if diff := sameRequest(want, &got); diff != "" {
			t.Fatalf("decoded differently (-encoding/json +ours):\n%s\n%q", diff, data)
		}
	})
}

func TestFastFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lits := []string{"0", "-0", "1", "-1", "0.1", "12.3456789", "9007199254740992", "9007199254740993", "1e22", "1e23", "1e-22", "1.5e-23",
		"123456789012345678", "0.30000000000000004", "4.2", "5.1", "1E+2", "2.5e-3", "0.000000000000000000000001", "100000000000000000000000"}
	for range 20000 {
		digits := 1 + rng.IntN(18)
		var b []byte
		if rng.IntN(4) == 0 {
			b = append(b, '-')
		}
		for k := range digits {
			if k == 0 {
				b = append(b, byte('1'+rng.IntN(9)))
			} else {
				b = append(b, byte('0'+rng.IntN(10)))
			}
		}
		if cut := rng.IntN(digits + 1); cut > 0 && cut < digits {
			b = append(b[:len(b)-digits+cut], append([]byte{'.'}, b[len(b)-digits+cut:]...)...)
		}
		if rng.IntN(3) == 0 {
			b = append(b, 'e')
			b = strconv.AppendInt(b, int64(rng.IntN(60)-30), 10)
		}
		lits = append(lits, string(b))
	}
	fast := 0
	for _, lit := range lits {
		want, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		got, ok := fastFloat(lit)
		if !ok {
			continue
		}
		fast++
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("fastFloat(%s) = %v, strconv %v", lit, got, want)
		}
	}
	if fast < len(lits)/4 {
		t.Errorf("only %d of %d literals took the fast path", fast, len(lits))
	}
}
