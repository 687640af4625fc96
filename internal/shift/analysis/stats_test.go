package analysis

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

type reference struct {
	Fisher []struct {
		A, B, C, D  int64
		Alternative string
		P           float64
	}
	MannWhitneyU []struct {
		X, Y        []float64
		Alternative string
		Method      string
		U, P        float64
	} `json:"mannwhitneyu"`
	ZTest []struct {
		X1, N1, X2, N2 int64
		Delta, Z, P    float64
	}
	Spending []struct {
		Alpha, T, Pocock float64
		OBrienFleming    float64 `json:"obrien_fleming"`
	}
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("testdata/reference.json: %v", err)
	}
	if len(r.Fisher) == 0 || len(r.MannWhitneyU) == 0 || len(r.ZTest) == 0 || len(r.Spending) == 0 {
		t.Fatal("testdata/reference.json: a section is empty")
	}
	return r
}

func alt(t *testing.T, s string) Alternative {
	switch s {
	case "greater":
		return Greater
	case "less":
		return Less
	}
	t.Fatalf("alternative %q", s)
	return 0
}

// close reports whether got matches want to a relative 1e-9 (or an
// absolute 1e-14 near 0).
func close(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Abs(want)+1e-14
}

func TestFisherExactMatchesScipy(t *testing.T) {
	for _, c := range loadReference(t).Fisher {
		got := FisherExact(c.A, c.B, c.C, c.D, alt(t, c.Alternative))
		if !close(got, c.P) {
			t.Errorf("FisherExact([[%d %d] [%d %d]], %s) = %.17g, scipy %.17g", c.A, c.B, c.C, c.D, c.Alternative, got, c.P)
		}
	}
}

func TestMannWhitneyUMatchesScipy(t *testing.T) {
	for i, c := range loadReference(t).MannWhitneyU {
		got := MannWhitneyU(c.X, c.Y, alt(t, c.Alternative))
		if got.Exact != (c.Method == "exact") {
			t.Errorf("case %d (n=%d,%d): exact=%v, reference method %s", i, len(c.X), len(c.Y), got.Exact, c.Method)
		}
		if got.U != c.U || !close(got.P, c.P) {
			t.Errorf("case %d (n=%d,%d, %s, %s): U=%v p=%.17g, scipy U=%v p=%.17g", i, len(c.X), len(c.Y), c.Alternative, c.Method, got.U, got.P, c.U, c.P)
		}
	}
}

func TestZTestDiffMatchesScipy(t *testing.T) {
	for _, c := range loadReference(t).ZTest {
		p, z := ZTestDiff(c.X1, c.N1, c.X2, c.N2, c.Delta)
		if !close(z, c.Z) || !close(p, c.P) {
			t.Errorf("ZTestDiff(%d/%d, %d/%d, %v) = p %.17g z %.17g, want p %.17g z %.17g", c.X1, c.N1, c.X2, c.N2, c.Delta, p, z, c.P, c.Z)
		}
	}
}

func TestSpendingMatchesScipy(t *testing.T) {
	for _, c := range loadReference(t).Spending {
		p := Config{Alpha: c.Alpha, Correction: Pocock}.spent(c.T)
		o := Config{Alpha: c.Alpha, Correction: OBrienFleming}.spent(c.T)
		if !close(p, c.Pocock) || !close(o, c.OBrienFleming) {
			t.Errorf("alpha %v t %v: pocock %.17g (want %.17g), obf %.17g (want %.17g)", c.Alpha, c.T, p, c.Pocock, o, c.OBrienFleming)
		}
	}
}

func TestLookAlphaSumsToAlpha(t *testing.T) {
	for _, corr := range []Correction{Pocock, OBrienFleming, Bonferroni} {
		cfg := DefaultConfig()
		cfg.Correction = corr
		sum := 0.0
		for k := 1; k <= cfg.PlannedChecks; k++ {
			a := cfg.LookAlpha(k, 2)
			if a <= 0 {
				t.Errorf("%s look %d: alpha %v", corr, k, a)
			}
			sum += 2 * a
		}
		if math.Abs(sum-cfg.Alpha) > 1e-12 {
			t.Errorf("%s: looks spend %v in all, want %v", corr, sum, cfg.Alpha)
		}
		if got := cfg.LookAlpha(cfg.PlannedChecks+5, 2); got != cfg.LookAlpha(cfg.PlannedChecks, 2) {
			t.Errorf("%s: a look beyond the plan has alpha %v, want the last look's", corr, got)
		}
	}
}

// TestPValuesUniformUnderNull checks by simulation that the tests hold
// their level when both samples come from one distribution: the share of
// p-values below 0.05 is at most about 0.05 (discrete tests are
// conservative) and not far below for the continuous one.
func TestPValuesUniformUnderNull(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const runs = 4000
	for _, n := range []int{8, 30, 45} { // exact, exact, asymptotic
		below := 0
		for range runs {
			x, y := lognormals(rng, n, 1), lognormals(rng, n, 1)
			if MannWhitneyU(x, y, Greater).P < 0.05 {
				below++
			}
		}
		// n=8 is discrete: its largest level below 0.05 is about 0.04.
		rate := float64(below) / runs
		t.Logf("Mann-Whitney n=%d: %.4f of null p-values below 0.05", n, rate)
		if rate < 0.03 || rate > 0.062 {
			t.Errorf("Mann-Whitney n=%d: %.3f of null p-values below 0.05, want about 0.05", n, rate)
		}
	}
	for _, n := range []int64{500, 5000} { // Fisher (about 5 errors), z-test (about 50)
		below := 0
		for range runs / 2 {
			a, c := binomial(rng, n, 0.01), binomial(rng, n, 0.01)
			w := Window{From: Observation{Requests: n, Errors: c}, To: Observation{Requests: n, Errors: a}}
			cfg := DefaultConfig()
			cfg.ErrorTolerance = 0
			if p := errorCheck(cfg, w).PValue; p < 0.05 {
				below++
			}
		}
		rate := float64(below) / (runs / 2)
		t.Logf("error test n=%d: %.4f of null p-values below 0.05", n, rate)
		if rate > 0.065 {
			t.Errorf("error test n=%d: %.3f of null p-values below 0.05, want at most about 0.05", n, rate)
		}
	}
}

// TestPower checks by simulation that a real regression is found.
func TestPower(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const runs = 500
	cfg := DefaultConfig()
	lat, errs := 0, 0
	for range runs {
		x, y := lognormals(rng, 12, 0.3), lognormals(rng, 12, 0.3)
		for i := range x {
			x[i] *= 2
		}
		w := Window{From: Observation{Latency: y}, To: Observation{Latency: x}}
		if latencyCheck(cfg, w).PValue < 0.01 {
			lat++
		}
		n := int64(5000)
		w = Window{From: Observation{Requests: n, Errors: binomial(rng, n, 0.005)}, To: Observation{Requests: n, Errors: binomial(rng, n, 0.055)}}
		if errorCheck(cfg, w).PValue < 0.01 {
			errs++
		}
	}
	if p := float64(lat) / runs; p < 0.95 {
		t.Errorf("latency x2 with 12 intervals a side: power %.3f at 0.01, want >= 0.95", p)
	}
	if p := float64(errs) / runs; p < 0.99 {
		t.Errorf("errors +5%% over 5000 requests: power %.3f at 0.01, want >= 0.99", p)
	}
}

func lognormals(rng *rand.Rand, n int, sigma float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Exp(sigma * rng.NormFloat64())
	}
	return out
}

func binomial(rng *rand.Rand, n int64, p float64) int64 {
	var k int64
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

func TestMannWhitneyUEdges(t *testing.T) {
	if p := MannWhitneyU(nil, []float64{1}, Greater).P; !math.IsNaN(p) {
		t.Errorf("empty sample: p %v, want NaN", p)
	}
	same := []float64{2, 2, 2, 2}
	if p := MannWhitneyU(same, same, Greater).P; p != 1 {
		t.Errorf("all tied: p %v, want 1", p)
	}
	// Exact tail: x entirely above y has p = 1/C(n1+n2, n1).
	x, y := []float64{10, 11, 12}, []float64{1, 2, 3, 4}
	if got, want := MannWhitneyU(x, y, Greater).P, 1.0/35; !close(got, want) {
		t.Errorf("separated samples: p %v, want %v", got, want)
	}
	// The largest exact case stays within int64: its extreme tail is
	// 1/C(60, 30) and its distribution is symmetric.
	if got := uSF(900, 30, 30); !close(got, 1/118264581564861424.0) {
		t.Errorf("uSF(900, 30, 30) = %v, want 1/C(60,30)", got)
	}
	if lo, hi := uSF(451, 30, 30), 1-uSF(450, 30, 30); !close(lo, hi) {
		t.Errorf("uSF(30, 30) not symmetric: P(U>=451)=%v, P(U<=449)=%v", lo, hi)
	}
}

func TestFisherExactEdges(t *testing.T) {
	if p := FisherExact(-1, 1, 1, 1, Greater); !math.IsNaN(p) {
		t.Errorf("negative count: %v, want NaN", p)
	}
	if p := FisherExact(0, 0, 0, 0, Greater); p != 1 {
		t.Errorf("empty table: %v, want 1", p)
	}
}
