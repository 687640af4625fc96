package synth

import (
	"strings"
	"testing"
)

func TestParsePatterns(t *testing.T) {
	ps, err := ParsePatterns(" repeat:svc=cart,to=user,n=3; nplus1:to=dynamodb,svc=api,n=8;netdelay:svc=a,to=b,ms=20;")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	if s := strings.Join(got, ";"); s != "repeat:svc=cart,to=user,n=3;nplus1:svc=api,to=dynamodb,n=8;netdelay:svc=a,to=b,ms=20" {
		t.Errorf("patterns = %s", s)
	}
	for spec, want := range map[string]string{
		"loop:svc=a,to=b,n=3":         `unknown kind "loop"`,
		"repeat:svc=a,to=b":           "missing n",
		"repeat:svc=a,n=3":            "missing to",
		"repeat:svc=a,to=b,n=1":       "want 2 to 1000 calls",
		"repeat:svc=a,to=b,n=x":       `n="x"`,
		"netdelay:svc=a,to=b,ms=-1":   "negative delay",
		"netdelay:svc=a,to=b,n=3":     `unexpected "n=3"`,
		"repeat:svc=,to=b,n=3":        `svc="": empty`,
		"repeat:svc=a,to=b,n=3,svc=c": `unexpected "svc=c"`,
		"repeat":                      "want KIND:",
	} {
		if _, err := ParsePatterns(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePatterns(%q) = %v, want %q", spec, err, want)
		}
	}
}

func TestPatternsApply(t *testing.T) {
	for _, tc := range []struct {
		p    Pattern
		want string
	}{
		{Pattern{Kind: PatternRepeat, Service: "nope", To: "user", N: 2}, `names service "nope"`},
		{Pattern{Kind: PatternRepeat, Service: "user", To: "api", N: 2}, "may only call services after it"},
		{Pattern{Kind: PatternNetDelay, Service: "api", To: "dynamodb", MS: 2}, "needs a service that logs"},
		{Pattern{Kind: PatternNPlusOne, Service: "api", To: "dynamodb", N: 5}, "always identical"},
	} {
		if _, err := Truth(Config{Services: 5, Patterns: []Pattern{tc.p}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.p, err, tc.want)
		}
	}
	gt, err := Truth(Config{Services: 5, Patterns: []Pattern{
		{Kind: PatternRepeat, Service: "session", To: "streak", N: 3},
		{Kind: PatternNPlusOne, Service: "api", To: "user", N: 7},
		{Kind: PatternNetDelay, Service: "api", To: "user", MS: 12},
	}})
	if err != nil {
		t.Fatal(err)
	}
	has := func(m MultiCall) bool {
		for _, x := range gt.Multi {
			if x == m {
				return true
			}
		}
		return false
	}
	if !has(MultiCall{"session", "streak", 3, true}) || !has(MultiCall{"api", "user", 7, false}) {
		t.Errorf("multi calls: %+v", gt.Multi)
	}
	if len(gt.NetDelay) != 1 || gt.NetDelay[0].Caller != "api" || gt.NetDelay[0].Callee != "user" || gt.NetDelay[0].Delay.Milliseconds() != 12 {
		t.Errorf("net delay: %+v", gt.NetDelay)
	}
}

func FuzzParsePatterns(f *testing.F) {
	f.Add("repeat:svc=cart,to=user,n=3;nplus1:svc=api,to=cart,n=8")
	f.Add("netdelay:svc=a,to=b,ms=20")
	f.Fuzz(func(t *testing.T, spec string) {
		ps, err := ParsePatterns(spec)
		if err != nil {
			return
		}
		// What parses formats back to something that parses the same.
		var parts []string
		for _, p := range ps {
			parts = append(parts, p.String())
		}
		again, err := ParsePatterns(strings.Join(parts, ";"))
		if err != nil || len(again) != len(ps) {
			t.Fatalf("%q: reparse of %q: %v", spec, parts, err)
		}
		for i := range ps {
			if again[i] != ps[i] {
				t.Fatalf("%q: %+v became %+v", spec, ps[i], again[i])
			}
		}
	})
}
