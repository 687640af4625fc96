package findings

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/synth"
)

// truthCase is a synthetic fleet with injected findings.
type truthCase struct {
	cfg synth.Config
	gt  *synth.GroundTruth
}

// truthCases builds fleets of 12 to 27 services, each with two identical
// repeated calls, two N+1 loops, two slow network links, one failing
// service and two uncompressed ones, placed at random (fixed seeds).
func truthCases(t testing.TB, n int) []truthCase {
	t.Helper()
	var out []truthCase
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 77))
		services := 12 + 3*int(seed)
		names := synth.ServiceNames(services)
		pair := func() (string, string) {
			a := 1 + rng.IntN(services-2)
			return names[a], names[a+1+rng.IntN(services-a-1)]
		}
		var ps []synth.Pattern
		for range 2 {
			a, b := pair()
			ps = append(ps, synth.Pattern{Kind: synth.PatternRepeat, Service: a, To: b, N: 2 + rng.IntN(3)})
			a, b = pair()
			ps = append(ps, synth.Pattern{Kind: synth.PatternNPlusOne, Service: a, To: b, N: 5 + rng.IntN(5)})
			a, b = pair()
			ps = append(ps, synth.Pattern{Kind: synth.PatternNetDelay, Service: a, To: b, MS: 8 + rng.IntN(30)})
		}
		fs := []synth.Fault{
			{Kind: synth.FaultErrors, Service: names[1+rng.IntN(services-1)], Rate: 0.1 + 0.2*rng.Float64()},
			{Kind: synth.FaultUncompressed, Service: names[rng.IntN(services)]},
			{Kind: synth.FaultUncompressed, Service: names[rng.IntN(services)]},
		}
		cfg := synth.Config{Services: services, Requests: 150, Seed: seed + 100, Patterns: ps, Faults: fs}
		gt, err := synth.Truth(cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		out = append(out, truthCase{cfg, gt})
	}
	return out
}

// score counts true and false positives and negatives of one finding type.
type score struct{ tp, fp, fn int }

func (s score) precision() float64 {
	if s.tp+s.fp == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fp)
}

func (s score) recall() float64 {
	if s.tp+s.fn == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fn)
}

func (s *score) add(want, got []string) {
	for _, w := range want {
		if slices.Contains(got, w) {
			s.tp++
		} else {
			s.fn++
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			s.fp++
		}
	}
}

// TestFindingsAgainstSyntheticTruth runs the detector over fleets with
// known injected findings and checks precision and recall per type.
func TestFindingsAgainstSyntheticTruth(t *testing.T) {
	opts := Options{}.withDefaults()
	scores := map[string]*score{}
	for _, typ := range []string{TypeUncompressed, TypeRepeatedCall, TypeNPlusOne, TypeRepeatedErrors, TypeNetworkLatency} {
		scores[typ] = &score{}
	}
	originRight, originAll := 0, 0 // failing edges: is the callee's part classified right?
	for i, tc := range truthCases(t, 6) {
		d := NewDetector(Options{})
		if _, err := synth.Generate(tc.cfg, func(tr *tracing.Trace) error { d.Add(tr); return nil }); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		byEdge := map[string]Finding{}
		for _, f := range d.Findings() {
			key := f.Caller + " -> " + f.Callee
			if f.Type == TypeUncompressed {
				key = f.Callee
			}
			got[f.Type] = append(got[f.Type], key)
			if f.Type == TypeRepeatedErrors {
				byEdge[key] = f
			}
			if len(f.Examples) == 0 {
				t.Errorf("case %d: finding without examples: %+v", i, f)
			}
		}
		want := map[string][]string{}
		for _, u := range tc.gt.Uncompressed {
			if u.RespBytes >= opts.MinUncompressedBytes {
				want[TypeUncompressed] = append(want[TypeUncompressed], u.Service)
			}
		}
		for _, m := range tc.gt.Multi {
			key := m.Caller + " -> " + m.Callee
			if m.Identical {
				want[TypeRepeatedCall] = append(want[TypeRepeatedCall], key)
			} else if m.Calls >= opts.MinLoop {
				want[TypeNPlusOne] = append(want[TypeNPlusOne], key)
			}
		}
		for _, e := range tc.gt.Failing {
			key := e.Caller + " -> " + e.Callee
			want[TypeRepeatedErrors] = append(want[TypeRepeatedErrors], key)
			if f, ok := byEdge[key]; ok {
				originAll++
				if (f.Numbers["own_share"] >= 0.5) == e.Origin {
					originRight++
				} else {
					t.Logf("case %d: %s origin %v, own_share %.2f", i, key, e.Origin, f.Numbers["own_share"])
				}
			}
		}
		for _, e := range tc.gt.NetDelay {
			if e.Delay >= opts.MinNetwork {
				want[TypeNetworkLatency] = append(want[TypeNetworkLatency], e.Caller+" -> "+e.Callee)
			}
		}
		for typ, s := range scores {
			s.add(want[typ], got[typ])
			if testing.Verbose() {
				for _, w := range want[typ] {
					if !slices.Contains(got[typ], w) {
						t.Logf("case %d: %s missed: %s", i, typ, w)
					}
				}
				for _, g := range got[typ] {
					if !slices.Contains(want[typ], g) {
						t.Logf("case %d: %s false: %s", i, typ, g)
					}
				}
			}
		}
	}
	for typ, s := range scores {
		t.Logf("%-16s precision %.3f recall %.3f (tp %d, fp %d, fn %d)", typ, s.precision(), s.recall(), s.tp, s.fp, s.fn)
		if s.tp < 6 {
			t.Errorf("%s: only %d true findings in the cases: the test proves little", typ, s.tp)
		}
		if s.precision() < 0.9 || s.recall() < 0.9 {
			t.Errorf("%s: precision %.3f, recall %.3f; want both >= 0.9", typ, s.precision(), s.recall())
		}
	}
	acc := float64(originRight) / float64(max(originAll, 1))
	t.Logf("error origin classified right: %d of %d (%.3f)", originRight, originAll, acc)
	if acc < 0.9 {
		t.Errorf("error origin accuracy %.3f, want >= 0.9", acc)
	}
}

func ExampleDetector() {
	d := NewDetector(Options{})
	cfg := synth.Config{Services: 4, Requests: 50, Seed: 1,
		Patterns: []synth.Pattern{{Kind: synth.PatternRepeat, Service: "session", To: "user", N: 3}}}
	if _, err := synth.Generate(cfg, func(t *tracing.Trace) error { d.Add(t); return nil }); err != nil {
		panic(err)
	}
	for _, f := range d.Findings() {
		if f.Type == TypeRepeatedCall {
			fmt.Println(f.Type, f.Caller, "->", f.Callee, f.Route, f.Numbers["max_calls"])
		}
	}
	// Output:
	// repeated_call session -> user POST /v1/user/{id} 3
	// repeated_call course -> dynamodb.us-east-1.amazonaws.com / 3
}
