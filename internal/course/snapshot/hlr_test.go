package snapshot

import (
	"bytes"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/memory"
)

func TestHLRWeightsArePublished(t *testing.T) {
	c, ch := generated(t, small)
	plain, err := Compile(header(), c, ch)
	if err != nil {
		t.Fatal(err)
	}
	// A snapshot without weights (as every older one) loads with none.
	sc, err := Load(plain)
	if err != nil {
		t.Fatal(err)
	}
	if sc.HLR != nil {
		t.Fatalf("weights %+v in a snapshot written without them", sc.HLR)
	}
	m := &memory.HLR{Weights: [memory.HLRFeatures]float64{1.5, 0.25, -0.75}, Lexemes: map[string]float64{"b": -0.5, "a": 0.125, "c": 2}}
	with, err := WithHLR(plain, m)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // map order must not change the bytes
		again, err := WithHLR(plain, m)
		if err != nil || !bytes.Equal(again, with) {
			t.Fatalf("WithHLR is not deterministic (%v)", err)
		}
	}
	sc, err = Load(with)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(m, sc.HLR); d != "" {
		t.Errorf("weights (-published +loaded):\n%s", d)
	}
	if sc.Header.CourseID != header().CourseID || sc.Header.CourseVersion != header().CourseVersion {
		t.Errorf("header changed: %+v", sc.Header)
	}
	// Removing them gives back the original bytes.
	if back, err := WithHLR(with, nil); err != nil || !bytes.Equal(back, plain) {
		t.Errorf("WithHLR(nil) did not restore the snapshot (%v)", err)
	}
	if _, err := WithHLR(plain, &memory.HLR{Weights: [memory.HLRFeatures]float64{math.NaN()}}); err == nil {
		t.Error("NaN weight accepted")
	}
}
