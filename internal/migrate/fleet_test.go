package migrate

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/migrate/ecs"
)

func TestBuildFleet(t *testing.T) {
	report := &Report{Services: []*ServiceReport{
		{Service: "orders", Team: "checkout"},
		{Service: "cart", Team: "checkout"},
		{Service: "lessons", Team: "learning"},
		{Service: "streaks", Team: "learning"},
		{Service: "search", Team: "search"},
		{Service: "broken", Team: "search", Error: "task definition broken:1 is not in the input"},
	}}
	apps, err := ParseArgoApps([]byte(`{"items": [
		{"metadata": {"name": "orders-prod", "labels": {"app.kubernetes.io/name": "orders"}}, "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}},
		{"metadata": {"name": "orders-dev", "labels": {"app.kubernetes.io/name": "orders"}}, "status": {"sync": {"status": "OutOfSync"}, "health": {"status": "Degraded"}}},
		{"metadata": {"name": "cart-prod", "labels": {"app.kubernetes.io/name": "cart"}}, "status": {"sync": {"status": "Synced"}, "health": {"status": "Progressing"}}},
		{"metadata": {"name": "lessons-prod", "labels": {"app.kubernetes.io/name": "lessons"}}, "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}},
		{"metadata": {"name": "someone-elses-app"}, "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	shifts, err := ParseShifts([]byte(`{"shifts": [
		{"name": "lessons", "state": "progressing", "percent": 25},
		{"name": "lessons-old", "service": "lessons", "state": "rolled_back", "percent": 0},
		{"name": "streaks-eks", "service": "streaks", "state": "succeeded", "percent": 100},
		{"name": "search", "state": "rolled_back", "percent": 0}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	f := BuildFleet(FleetInput{Report: report, Apps: apps, Shifts: shifts, NotConverted: map[string]string{"ledger": "payments"}})
	got := map[string]Phase{}
	for _, s := range f.Services {
		got[s.Service] = s.Phase
	}
	want := map[string]Phase{
		"orders":  PhaseDeployed,   // healthy in one of two cells
		"cart":    PhaseGenerated,  // still progressing
		"lessons": PhaseShifting,   // the active shift wins over the old rolled-back one
		"streaks": PhaseDone,       // shift succeeded
		"search":  PhaseRolledBack, // shift rolled back
		"broken":  PhaseNotStarted, // conversion failed
		"ledger":  PhaseNotStarted, // not converted
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("phases (-want +got):\n%s", diff)
	}
	for _, s := range f.Services {
		if s.Service == "lessons" && (s.ShiftPercent != 25 || !strings.Contains(s.Detail, "25%")) {
			t.Errorf("lessons: %+v", s)
		}
		if s.Service == "orders" && s.Detail != "healthy in 1 of 2 cells: prod" {
			t.Errorf("orders detail %q", s.Detail)
		}
	}
	if f.Teams["checkout"][PhaseDeployed] != 1 || f.Teams["checkout"][PhaseGenerated] != 1 || f.Teams["payments"][PhaseNotStarted] != 1 {
		t.Errorf("team counts: %v", f.Teams)
	}
	if f.Phases[PhaseNotStarted] != 2 || len(f.Services) != 7 {
		t.Errorf("phase counts %v over %d services", f.Phases, len(f.Services))
	}
}

func TestParseFleetSourcesErrors(t *testing.T) {
	if apps, err := ParseArgoApps([]byte(`[{"metadata": {"name": "a-dev", "labels": {"app.kubernetes.io/name": "a"}}}]`)); err != nil || len(apps) != 1 {
		t.Errorf("argocd app list -o json: %v %v", apps, err)
	}
	for _, bad := range []string{`{"apps": []}`, `{"items": 3}`, `nope`} {
		if _, err := ParseArgoApps([]byte(bad)); err == nil {
			t.Errorf("ParseArgoApps(%s) accepted", bad)
		}
	}
	for _, bad := range []string{`{"list": []}`, `[{"state": "paused"}]`, `[{"name": 3}]`} {
		if _, err := ParseShifts([]byte(bad)); err == nil {
			t.Errorf("ParseShifts(%s) accepted", bad)
		}
	}
}

func TestUnconverted(t *testing.T) {
	in, err := ecs.ReadDir("testdata/fleet")
	if err != nil {
		t.Fatal(err)
	}
	got := Unconverted(in, &Report{Services: []*ServiceReport{{Service: "orders"}}})
	want := map[string]string{"legacy-worker": "data-platform", "billing": "unowned"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unconverted (-want +got):\n%s", diff)
	}
}

func TestFleetSourcesLoad(t *testing.T) {
	out := t.TempDir()
	var rep bytes.Buffer
	if err := (&Report{Services: []*ServiceReport{{Service: "web", Team: "web"}}}).WriteJSON(&rep); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "report.json"), rep.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`[{"name": "web", "state": "paused", "percent": 5}]`))
	}))
	defer srv.Close()

	f, errs := FleetSources{Out: out, Shifts: srv.URL, ShiftsToken: "s3cret"}.Load(t.Context())
	if len(errs) > 0 || f.Services[0].Phase != PhaseShifting || f.Services[0].ShiftPercent != 5 {
		t.Fatalf("load: %+v %v", f, errs)
	}
	// A source that refuses leaves the fleet built from the others.
	f, errs = FleetSources{Out: out, Shifts: srv.URL, ArgoCD: filepath.Join(out, "missing.json")}.Load(t.Context())
	if len(errs) != 2 || !strings.Contains(errs[1].Error(), "401") || f == nil || f.Services[0].Phase != PhaseGenerated {
		t.Fatalf("load with bad sources: %+v %v", f, errs)
	}
	if _, errs := (FleetSources{Out: t.TempDir()}).Load(t.Context()); len(errs) != 1 || !strings.Contains(errs[0].Error(), "no report.json") {
		t.Errorf("missing report: %v", errs)
	}
}
