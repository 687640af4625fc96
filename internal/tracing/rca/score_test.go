package rca

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestShiftZ(t *testing.T) {
	base := []int64{900, 950, 1000, 1000, 1050, 1100, 1000, 980, 1020, 1000}
	same := slices.Clone(base)
	slower := make([]int64, len(base))
	for i, x := range base {
		slower[i] = x + 500
	}
	slices.Sort(base)
	slices.Sort(same)
	slices.Sort(slower)
	if z := shiftZ(base, same); z != 0 {
		t.Errorf("same distribution: z = %v", z)
	}
	// MAD of base is 25µs → 1.4826·25 = 37µs, below the floor of 5% of the
	// median (50µs): z = 500/50.
	if z := shiftZ(base, slower); math.Abs(z-10) > 1e-9 {
		t.Errorf("+500µs: z = %v, want 10", z)
	}
	if z := shiftZ(base[:3], slower); z != 0 {
		t.Errorf("too few samples: z = %v", z)
	}
	// A few outliers in the incident move neither the median nor the
	// third quartile much.
	spiky := slices.Clone(same)
	spiky[0], spiky[1] = 90000, 80000
	slices.Sort(spiky)
	if z := shiftZ(base, spiky); z > 2 {
		t.Errorf("two spikes: z = %v, want small", z)
	}
}

func TestRateZAndSquash(t *testing.T) {
	if z := rateZ(0, 400, 60, 300); z < 20 {
		t.Errorf("0%% → 20%%: z = %v, want large", z)
	}
	if z := rateZ(8, 400, 6, 300); math.Abs(z) > 1 {
		t.Errorf("2%% → 2%%: z = %v, want about 0", z)
	}
	if z := rateZ(0, 10, 0, 0); z != 0 {
		t.Errorf("no spans: z = %v", z)
	}
	if squash(1, 1, 3) != 0 || squash(math.NaN(), 1, 3) != 0 {
		t.Error("squash below the threshold is not 0")
	}
	if a := squash(4, 1, 3); math.Abs(a-(1-math.Exp(-1))) > 1e-12 {
		t.Errorf("squash(4) = %v", a)
	}
	if a := either(0.5, 0.5); a != 0.75 {
		t.Errorf("either = %v", a)
	}
}

func TestParseSymptom(t *testing.T) {
	for in, want := range map[string]Symptom{
		"":                              {},
		"api":                           {Service: "api"},
		" api / POST /v1/sessions/{id}": {Service: "api", Route: "POST /v1/sessions/{id}"},
	} {
		got, err := ParseSymptom(in)
		if err != nil || got != want {
			t.Errorf("ParseSymptom(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if _, err := ParseSymptom("/GET /x"); err == nil || !strings.Contains(err.Error(), "want service or service/route") {
		t.Errorf("no service: %v", err)
	}
}

func FuzzParseSymptom(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		sym, err := ParseSymptom(s)
		if err != nil {
			return
		}
		if sym.Service == "" && strings.TrimSpace(s) != "" {
			t.Fatalf("%q: no service and no error", s)
		}
		again, err := ParseSymptom(sym.String())
		if err != nil || again != sym {
			t.Fatalf("%q: %+v does not round-trip: %+v, %v", s, sym, again, err)
		}
	})
}
