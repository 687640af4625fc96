package migrate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/owlstack/owl/internal/migrate/ecs"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func convertFleet(t testing.TB) *Output {
	t.Helper()
	in, err := ecs.ReadDir("testdata/fleet")
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadMapping("testdata/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Convert(in, m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withReport adds the JSON report to the files, as the CLI writes it.
func withReport(t testing.TB, out *Output) map[string][]byte {
	files := map[string][]byte{}
	for k, v := range out.Files {
		files[k] = v
	}
	var b bytes.Buffer
	if err := out.Report.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	files["report.json"] = b.Bytes()
	return files
}

// TestGolden compares the whole output for the representative fleet with
// testdata/golden; run with -update to accept a change.
func TestGolden(t *testing.T) {
	files := withReport(t, convertFleet(t))
	golden := "testdata/golden"
	if *update {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		for p, b := range files {
			if err := WriteFileAtomic(filepath.Join(golden, p), b); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := map[string]string{}
	for p, b := range files {
		got[p] = string(b)
	}
	want := map[string]string{}
	err := filepath.WalkDir(golden, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(golden, p)
		want[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output differs from %s (-want +got); run go test -update to accept:\n%s", golden, diff)
	}
}

// TestOverlaysBuild builds every overlay with the kustomize API and decodes
// every resulting object strictly.
func TestOverlaysBuild(t *testing.T) {
	out := convertFleet(t)
	dir := t.TempDir()
	if _, err := Write(dir, out.Files, out.Owned()); err != nil {
		t.Fatal(err)
	}
	if n := buildOverlays(t, dir); n != 8 {
		t.Fatalf("built %d overlays, want 2 services × 4 cells", n)
	}
	y := kustomizeBuild(t, filepath.Join(dir, "services/orders/overlays/dev-use1"))
	if !bytes.Contains(y, []byte("maxReplicas: 1\n")) || !bytes.Contains(y, []byte("- orders.dev-use1.svc.example.com\n")) {
		t.Errorf("dev overlay of orders does not cap the HPA or set the hostname:\n%s", y)
	}
	if n := buildOverlays(t, filepath.Join("..", "..", "deploy")); n != 18 {
		t.Errorf("built %d overlays of deploy/, want 6 services × 3 cells", n)
	}
}

func kustomizeBuild(t *testing.T, dir string) []byte {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	y, err := rm.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// buildOverlays builds every overlay under dir/services and checks every
// object: strict decoding, the cell label and a namespace.
func buildOverlays(t *testing.T, dir string) int {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	overlays, _ := filepath.Glob(filepath.Join(dir, "services", "*", "overlays", "*"))
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	for _, o := range overlays {
		rm, err := k.Run(filesys.MakeFsOnDisk(), o)
		if err != nil {
			t.Fatalf("kustomize build %s: %v", o, err)
		}
		cell := filepath.Base(o)
		for _, r := range rm.Resources() {
			y, err := r.AsYAML()
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Validate(y); err != nil {
				t.Errorf("%s: %s: %v", o, r.CurId(), err)
			}
			if r.GetLabels()[LabelCell] != cell {
				t.Errorf("%s: %s lacks label %s=%s", o, r.CurId(), LabelCell, cell)
			}
			if r.GetNamespace() == "" {
				t.Errorf("%s: %s has no namespace", o, r.CurId())
			}
		}
	}
	return len(overlays)
}

func TestReport(t *testing.T) {
	out := convertFleet(t)
	r := map[string]*ServiceReport{}
	for _, s := range out.Report.Services {
		r[s.Service] = s
	}
	if len(out.Report.InputErrors) != 1 || !strings.Contains(out.Report.InputErrors[0], "billing-taskdef.json: $.taskDefinition.containerDefinitions[0].secrets[0].valueFrom: ") {
		t.Errorf("input errors %q", out.Report.InputErrors)
	}
	if e := r["billing"].Error; !strings.Contains(e, "task definition billing:1 is not in the input") {
		t.Errorf("billing error %q", e)
	}
	find := func(svc, field string) Finding {
		for _, f := range r[svc].Findings {
			if f.Field == field {
				return f
			}
		}
		t.Errorf("%s: no finding for %s", svc, field)
		return Finding{}
	}
	if f := find("orders", "scalingPolicies[requests]"); f.Status != NotMapped || !strings.Contains(f.Advice, "no native HPA metric") {
		t.Errorf("ALBRequestCountPerTarget finding %+v", f)
	}
	if f := find("legacy-worker", "containerDefinitions[worker].privileged"); f.Status != NotMapped {
		t.Errorf("privileged finding %+v", f)
	}
	if f := find("legacy-worker", "volumes[0].host.sourcePath"); f.Status != NotMapped {
		t.Errorf("host path finding %+v", f)
	}
	if f := find("legacy-worker", "$.somethingNew"); !f.Unknown || f.Status != NotMapped {
		t.Errorf("unknown task field %+v", f)
	}
	if f := find("legacy-worker", "$.services[1].brandNewAwsField"); !f.Unknown {
		t.Errorf("unknown service field %+v", f)
	}
	if r["legacy-worker"].Namespace != "batch" || r["legacy-worker"].Team != "data-platform" || r["orders"].Namespace != "checkout" {
		t.Errorf("namespaces/teams: %+v %+v", r["legacy-worker"], r["orders"])
	}
	var b bytes.Buffer
	if err := out.Report.WriteTable(&b, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "billing") || !strings.Contains(b.String(), "not mapped: containers of a pod share localhost") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestPlanAndWrite(t *testing.T) {
	out := convertFleet(t)
	dir := t.TempDir()
	changes, err := Write(dir, out.Files, out.Owned())
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != len(out.Files) {
		t.Errorf("first write made %d changes for %d files", len(changes), len(out.Files))
	}
	if changes, _ := Plan(dir, out.Files, out.Owned()); len(changes) != 0 {
		t.Errorf("plan after write: %+v", changes)
	}
	// A stale file of a converted service is removed; a changed file shows
	// a diff.
	stale := filepath.Join(dir, "services/orders/base/old.yaml")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dep := filepath.Join(dir, "services/orders/base/deployment.yaml")
	b, _ := os.ReadFile(dep)
	if err := os.WriteFile(dep, bytes.Replace(b, []byte("image: registry.example.com/ecr/orders:2026.03.01"), []byte("image: orders:old"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	changes, err = Plan(dir, out.Files, out.Owned())
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].Kind != "changed" || changes[1].Kind != "removed" {
		t.Fatalf("changes %+v", changes)
	}
	if !strings.Contains(changes[0].Diff, "-          image: orders:old\n+          image: registry.example.com/ecr/orders:2026.03.01\n") {
		t.Errorf("diff:\n%s", changes[1].Diff)
	}
	if _, err := Write(dir, out.Files, out.Owned()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("stale file kept")
	}
}

func TestValidatorRejects(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"typo in a Deployment":      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n",
		"wrong type":                "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: http}]}\n",
		"typo in an HTTPRoute":      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: x}\nspec: {hostname: [a]}\n",
		"typo in an ExternalSecret": "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec: {secretStore: {}}\n",
		"unknown kind":              "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n",
	} {
		if err := v.Validate([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := v.Validate([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 2}\n")); err != nil {
		t.Errorf("valid Deployment rejected: %v", err)
	}
}

func TestParseMapping(t *testing.T) {
	for name, tt := range map[string]struct{ yaml, err string }{
		"no cells":       {"git: {repoURL: r}\n", "at least one cell"},
		"bad cell name":  {"cells: [{name: Prod}]\ngit: {repoURL: r}\n", `cells[0].name "Prod"`},
		"duplicate cell": {"cells: [{name: a}, {name: a}]\ngit: {repoURL: r}\n", "used twice"},
		"unknown field":  {"cells: [{name: a}]\ngit: {repoURL: r}\ncell: x\n", "unknown field"},
		"identity":       {"cells: [{name: a}]\ngit: {repoURL: r}\nidentity: keys\n", "identity"},
		"no repo":        {"cells: [{name: a}]\n", "git.repoURL"},
		"bad glob":       {"cells: [{name: a}]\ngit: {repoURL: r}\nnamespaces: [{match: '[', namespace: x}]\n", "namespaces[0].match"},
	} {
		_, err := ParseMapping([]byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: error %v, want %q", name, err, tt.err)
		}
	}
	m := DefaultMapping()
	if len(m.Cells) != 3 || m.Identity != "irsa" || m.DefaultNamespace != "{team}" {
		t.Errorf("default mapping %+v", m)
	}
}

func TestDNSLabel(t *testing.T) {
	for in, want := range map[string]string{"legacy_worker": "legacy-worker", "Data Platform": "data-platform", "--x--": "x", "": "x", strings.Repeat("a", 70): strings.Repeat("a", 63)} {
		if got := dnsLabel(in); got != want {
			t.Errorf("dnsLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDeployUpToDate checks that deploy/, owl's own manifests, is what
// converting deploy/ecs gives: regenerating makes no diff.
func TestDeployUpToDate(t *testing.T) {
	root := filepath.Join("..", "..", "deploy")
	in, err := ecs.ReadDir(filepath.Join(root, "ecs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Errors) > 0 {
		t.Fatalf("deploy/ecs has errors: %v", in.Errors)
	}
	m, err := LoadMapping(filepath.Join(root, "mapping.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Convert(in, m)
	if err != nil {
		t.Fatal(err)
	}
	files := withReport(t, out)
	changes, err := Plan(root, files, append(out.Owned(), "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		t.Errorf("deploy/%s would be %s:\n%s", c.Path, c.Kind, c.Diff)
	}
	if len(changes) > 0 {
		t.Log("regenerate: go run ./cmd/owl migrate convert --in deploy/ecs --out deploy --mapping deploy/mapping.yaml")
	}
	for _, s := range out.Report.Services {
		if s.Error != "" {
			t.Errorf("%s: %s", s.Service, s.Error)
		}
	}
	if files[NodePoolsFile] == nil {
		t.Error("no Karpenter node pools in deploy/")
	}
}
