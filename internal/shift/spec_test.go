package shift_test

import (
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/shift"
)

func TestParseSpecDefaults(t *testing.T) {
	spec, err := shift.ParseSpec("s.yaml", []byte("name: checkout\nfrom: {name: ecs}\nto: {name: eks}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Steps) != 6 || spec.StepBP(5) != shift.FullBP || spec.Hold != 2*time.Minute || spec.Rollback.Mode != shift.RollbackHalve || spec.Analysis.Alpha != 0.05 {
		t.Errorf("defaults not applied: %+v", spec)
	}
	if _, err := shift.ParseSpec("s.yaml", []byte(testSpec+"steps: [0.5, 33.33, 100]\n")); err == nil {
		t.Fatal("a repeated key must be an error")
	}
	spec, err = shift.ParseSpec("s.yaml", []byte(strings.Replace(testSpec, "steps: [1, 5, 10, 25, 50, 100]", "steps: [0.5, 33.33, 100]\npause_after: [33.33]\ngates: [{name: qa, url: 'http://127.0.0.1:1/ok'}]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if spec.StepBP(0) != 50 || spec.StepBP(1) != 3333 || !spec.PauseAfterStep(1) || spec.PauseAfterStep(0) || spec.Gates[0].Timeout != 10*time.Second {
		t.Errorf("parsed %+v", spec)
	}
}

func TestParseSpecErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "s.yaml: empty spec"},
		{"not a mapping", "- a\n", "s.yaml:1: expected a mapping"},
		{"syntax", "name: [a\n", "s.yaml:1: did not find expected"},
		{"unknown key", "name: a\nfrom: {name: x}\nto: {name: y}\nstep: [1]\n", `s.yaml:4: unknown key "step"`},
		{"repeated key", "name: a\nname: b\n", `s.yaml:2: mapping key "name" already defined at line 1`},
		{"wrong type", "name: a\nfrom: {name: x}\nto: {name: y}\nhold: soon\n", "s.yaml:4: cannot unmarshal text `soon` into a duration"},
		{"missing name", "from: {name: x}\nto: {name: y}\n", "s.yaml: name: missing"},
		{"bad name", "name: 'a b'\nfrom: {name: x}\nto: {name: y}\n", `s.yaml:1: name: "a b": want letters`},
		{"same sides", "name: a\nfrom: {name: x}\nto: {name: x}\n", `s.yaml:3: to.name: "x" is also the from side's name`},
		{"falling steps", "name: a\nfrom: {name: x}\nto: {name: y}\nsteps:\n  - 10\n  - 5\n  - 100\n", "s.yaml:6: steps.1: 5: steps must rise"},
		{"last step", "name: a\nfrom: {name: x}\nto: {name: y}\nsteps: [10, 50]\n", "s.yaml:4: steps.1: 50: the last step must be 100"},
		{"too fine", "name: a\nfrom: {name: x}\nto: {name: y}\nsteps: [0.001, 100]\n", "steps.0: 0.001: want at most two decimals"},
		{"pause point", "name: a\nfrom: {name: x}\nto: {name: y}\npause_after: [7]\n", "s.yaml:4: pause_after.0: 7 is not one of the steps"},
		{"data plane", "name: a\nfrom: {name: x}\nto: {name: y}\ndata_plane: {kind: nginx}\n", `s.yaml:4: data_plane.kind: "nginx": want proxy, alb, route53 or gateway`},
		{"alb arn", "name: a\nfrom: {name: x, address: tg1}\nto: {name: y, address: tg2}\ndata_plane:\n  kind: alb\n  alb: {region: eu-west-1}\n", "s.yaml:6: data_plane.alb.listener_rule_arn"},
		{"alb address", "name: a\nfrom: {name: x}\nto: {name: y, address: tg2}\ndata_plane:\n  kind: alb\n  alb: {listener_rule_arn: 'arn:aws:x'}\n", "s.yaml:2: from.address: missing"},
		{"analysis", "name: a\nfrom: {name: x}\nto: {name: y}\nanalysis:\n  alpha: 0.9\n", "s.yaml:5: analysis.alpha: 0.9"},
		{"timeout", "name: a\nfrom: {name: x}\nto: {name: y}\nhold: 10m\nstep_timeout: 5m\n", "s.yaml:5: step_timeout: 5m0s: want more than hold"},
		{"rollback", "name: a\nfrom: {name: x}\nto: {name: y}\nrollback: {mode: jump}\n", `rollback.mode: "jump": want halve or steps`},
		{"gate url", "name: a\nfrom: {name: x}\nto: {name: y}\ngates:\n  - name: qa\n    url: ftp://x\n", `s.yaml:6: gates.0.url: "ftp://x"`},
		{"two documents", "name: a\nfrom: {name: x}\nto: {name: y}\n---\nname: b\n", "expected one YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := shift.ParseSpec("s.yaml", []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(testSpec))
	f.Add([]byte("name: a\nfrom: {name: x}\nto: {name: y}\nsteps: [1, 100]\n"))
	f.Add([]byte("name: a\nrollback: {mode: steps, steps: [50, 10, 0]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := shift.ParseSpec("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if len(spec.Steps) == 0 || spec.StepBP(len(spec.Steps)-1) != shift.FullBP {
			t.Fatalf("accepted steps %v", spec.Steps)
		}
		for i := 1; i < len(spec.Steps); i++ {
			if spec.StepBP(i) <= spec.StepBP(i-1) {
				t.Fatalf("accepted falling steps %v", spec.Steps)
			}
		}
	})
}
