package migrate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEphemeral(t *testing.T) {
	out := convertFleet(t)
	dir := t.TempDir()
	if _, err := Write(dir, out.Files, out.Owned()); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMapping("testdata/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, e := range []Ephemeral{
		{Name: "alice", Services: []string{"orders", "legacy-worker"}, Cell: "dev-use1", Expires: now.Add(time.Hour)},
		{Name: "bob", Services: []string{"orders"}, Cell: "dev-use1", Expires: now.Add(-time.Hour)},
	} {
		files, err := EphemeralFiles(m, dir, e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Write(dir, files, EphemeralOwned(e.Name)); err != nil {
			t.Fatal(err)
		}
	}
	y := kustomizeBuild(t, filepath.Join(dir, "ephemeral/alice"))
	for _, want := range []string{"namespace: eph-alice\n", "- orders.alice.eph.svc.example.com\n", "maxReplicas: 1\n", "replicas: 1\n", LabelExpiresAt + `: "`} {
		if !bytes.Contains(y, []byte(want)) {
			t.Errorf("alice's environment lacks %q:\n%s", want, y)
		}
	}
	v, _ := NewValidator()
	if err := v.ValidateStream(y); err != nil {
		t.Error(err)
	}
	expired, err := Expired(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(expired) != 1 || expired[0] != "bob" {
		t.Fatalf("expired %v, want [bob]", expired)
	}
	if err := RemoveEphemeral(dir, "bob"); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(dir, "ephemeral/bob")) || exists(filepath.Join(dir, "argocd/ephemeral-bob.yaml")) {
		t.Error("bob's files remain")
	}
	if err := RemoveEphemeral(dir, "bob"); err == nil {
		t.Error("removing a missing environment succeeded")
	}
	if _, err := EphemeralFiles(m, dir, Ephemeral{Name: "x", Services: []string{"nope"}, Cell: "dev-use1"}); err == nil {
		t.Error("an unconverted service was accepted")
	}
	if _, err := EphemeralFiles(m, dir, Ephemeral{Name: "x", Services: []string{"orders"}, Cell: "mars"}); err == nil {
		t.Error("an unknown cell was accepted")
	}

	pr, err := PullRequestFiles(m, dir, []string{"orders"}, "example", "shop", "dev-use1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, pr, nil); err != nil {
		t.Fatal(err)
	}
	kustomizeBuild(t, filepath.Join(dir, "ephemeral/pr"))
	set, _ := os.ReadFile(filepath.Join(dir, "argocd/ephemeral-pr.yaml"))
	for _, want := range []string{"pullRequest:", "targetRevision: '{{.head_sha}}'", "orders.pr-{{.number}}.eph.svc.example.com"} {
		if !bytes.Contains(set, []byte(want)) {
			t.Errorf("pull-request ApplicationSet lacks %q:\n%s", want, set)
		}
	}
	if expired, _ := Expired(dir, now.Add(1000*time.Hour)); len(expired) != 1 {
		t.Errorf("gc would remove %v; the pr template never expires", expired)
	}
}
