package synth

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/migrate/ecs"
)

func TestFilesDeterministicAndValid(t *testing.T) {
	a, sum, err := Files(Config{Services: 40, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := Files(Config{Services: 40, Seed: 7})
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same config, different files:\n%.2000s", diff)
	}
	c, _, _ := Files(Config{Services: 40, Seed: 8})
	if cmp.Equal(a, c) {
		t.Error("another seed gave the same files")
	}
	in := &ecs.Input{}
	for name, data := range a {
		in.Add(name, data)
	}
	if len(in.Errors) > 0 {
		t.Fatalf("synthetic files do not read cleanly: %v", in.Errors)
	}
	if len(in.Unknown) > 0 {
		t.Errorf("synthetic files have fields owl does not know: %v", in.Unknown)
	}
	if len(in.TaskDefinitions) != 40 || len(in.Services) != 40 || sum.Services != 40 {
		t.Fatalf("%d task definitions, %d services, summary %+v", len(in.TaskDefinitions), len(in.Services), sum)
	}
	// The variety the load test needs is there.
	if sum.Sidecars == 0 || sum.Secrets == 0 || sum.Autoscaled == 0 || sum.LoadBalanced == 0 {
		t.Errorf("summary lacks variety: %+v", sum)
	}
	if len(in.ScalableTargets) != sum.Autoscaled || len(in.TargetGroups) != sum.LoadBalanced {
		t.Errorf("%d targets, %d target groups for %+v", len(in.ScalableTargets), len(in.TargetGroups), sum)
	}
}
