package migrate

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/owlstack/owl/internal/migrate/ecs"
)

// convertWith converts the test fleet with the mapping changed by edit and
// the services changed by tag, and writes it to a temporary folder.
func convertWith(t *testing.T, edit func(*Mapping), tag func(*ecs.Service)) (string, *Output) {
	t.Helper()
	in, err := ecs.ReadDir("testdata/fleet")
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadMapping("testdata/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edit(m)
	if err := m.complete(); err != nil {
		t.Fatal(err)
	}
	for _, s := range in.Services {
		tag(s)
	}
	out, err := Convert(in, m)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Write(dir, out.Files, out.Owned()); err != nil {
		t.Fatal(err)
	}
	if n := buildOverlays(t, dir); n != 8 {
		t.Fatalf("built %d overlays, want 8", n)
	}
	return dir, out
}

// objectOf finds the object of kind and name in a kustomize build.
func objectOf(t *testing.T, stream []byte, kind, name string) map[string]any {
	t.Helper()
	for _, doc := range splitDocs(stream) {
		var o map[string]any
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatal(err)
		}
		md, _ := o["metadata"].(map[string]any)
		if o["kind"] == kind && md["name"] == name {
			return o
		}
	}
	t.Fatalf("no %s %s in:\n%s", kind, name, stream)
	return nil
}

func dig(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := o.(map[string]any)
			o = m[k]
		case int:
			l, _ := o.([]any)
			if k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

func TestCanaryWithGatewayRoute(t *testing.T) {
	dir, out := convertWith(t, func(m *Mapping) {
		m.Strategy = StrategyCanary
		m.Canary = CanarySettings{Weights: []int32{10, 50}, Pause: "90s"}
	}, func(s *ecs.Service) {
		if s.ServiceName == "legacy_worker" {
			s.DesiredCount = 3
		}
	})
	if _, ok := out.Files["services/orders/base/deployment.yaml"]; ok {
		t.Error("a canary service still has a Deployment")
	}
	y := kustomizeBuild(t, filepath.Join(dir, "services/orders/overlays/dev-use1"))
	ro := objectOf(t, y, "Rollout", "orders")
	canary := dig(ro, "spec", "strategy", "canary")
	if dig(canary, "stableService") != "orders" || dig(canary, "canaryService") != "orders-canary" {
		t.Errorf("canary services: %v", canary)
	}
	if dig(canary, "trafficRouting", "plugins", gatewayPlugin, "httpRoute") != "orders" {
		t.Errorf("traffic routing: %v", dig(canary, "trafficRouting"))
	}
	steps := dig(canary, "steps").([]any)
	want := []string{"setWeight=10", "pause=90s", "setWeight=50", "pause=90s"}
	for i, w := range want {
		k, v, _ := strings.Cut(w, "=")
		var got any
		if k == "setWeight" {
			got = dig(steps, i, "setWeight")
			if got != float64(atoi(v)) {
				t.Errorf("step %d = %v, want %s", i, steps[i], w)
			}
		} else if got = dig(steps, i, "pause", "duration"); got != v {
			t.Errorf("step %d = %v, want %s", i, steps[i], w)
		}
	}
	objectOf(t, y, "Service", "orders-canary")
	backends := dig(objectOf(t, y, "HTTPRoute", "orders"), "spec", "rules", 0, "backendRefs").([]any)
	if len(backends) != 2 || dig(backends, 1, "name") != "orders-canary" || dig(backends, 1, "weight") != float64(0) || dig(backends, 0, "weight") != float64(100) {
		t.Errorf("HTTPRoute backends: %v", backends)
	}
	if ref := dig(objectOf(t, y, "HorizontalPodAutoscaler", "orders"), "spec", "scaleTargetRef", "kind"); ref != "Rollout" {
		t.Errorf("the HPA scales a %v", ref)
	}
	// legacy-worker has no HPA and 3 replicas: the dev cell's cap of 1 must
	// reach the Rollout through a patch, since kustomize's replicas field
	// cannot.
	by := kustomizeBuild(t, filepath.Join(dir, "services/legacy-worker/overlays/dev-use1"))
	if r := dig(objectOf(t, by, "Rollout", "legacy-worker"), "spec", "replicas"); r != float64(1) {
		t.Errorf("legacy-worker dev replicas = %v, want 1", r)
	}
	var rep bytes.Buffer
	if err := out.Report.WriteJSON(&rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.String(), "canary without a gateway route") {
		t.Error("the report does not say that legacy-worker's canary has no traffic routing")
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestBlueGreenFromTagAndCodeDeploy(t *testing.T) {
	dir, out := convertWith(t, func(*Mapping) {}, func(s *ecs.Service) {
		switch s.ServiceName {
		case "orders":
			s.DeploymentController = &ecs.DeploymentController{Type: "CODE_DEPLOY"}
		case "legacy_worker":
			s.Tags = append(s.Tags, ecs.Tag{Key: TagStrategy, Value: "purple"})
		}
	})
	y := kustomizeBuild(t, filepath.Join(dir, "services/orders/overlays/prod-use1"))
	bg := dig(objectOf(t, y, "Rollout", "orders"), "spec", "strategy", "blueGreen")
	if dig(bg, "activeService") != "orders" || dig(bg, "previewService") != "orders-preview" || dig(bg, "autoPromotionEnabled") != false {
		t.Errorf("blue-green strategy: %v", bg)
	}
	objectOf(t, y, "Service", "orders-preview")
	if _, ok := out.Files["services/legacy-worker/base/deployment.yaml"]; !ok {
		t.Error("legacy-worker's unknown strategy tag did not fall back to the mapping's rolling Deployment")
	}
	var found bool
	for _, s := range out.Report.Services {
		for _, f := range s.Findings {
			if s.Service == "legacy-worker" && f.Field == "tags["+TagStrategy+"]" && f.Status == NotMapped && strings.Contains(f.Advice, `"purple"`) {
				found = true
			}
		}
	}
	if !found {
		t.Error("the report does not name legacy-worker's invalid strategy tag")
	}
}

func TestPodIdentityPerCell(t *testing.T) {
	dir, out := convertWith(t, func(m *Mapping) {
		m.Identity = "pod-identity"
		m.Cells[3].Cluster = "eks-prod-euw1"
	}, func(*ecs.Service) {})
	y := kustomizeBuild(t, filepath.Join(dir, "services/orders/overlays/prod-euw1"))
	pia := objectOf(t, y, "PodIdentityAssociation", "orders-api")
	if dig(pia, "spec", "clusterName") != "eks-prod-euw1" || dig(pia, "spec", "serviceAccount") != "orders-api" ||
		dig(pia, "spec", "roleARN") != "arn:aws:iam::123456789012:role/orders-task" || dig(pia, "spec", "namespace") != "checkout" {
		t.Errorf("pod identity association: %v", pia["spec"])
	}
	sa := objectOf(t, y, "ServiceAccount", "orders-api")
	if dig(sa, "metadata", "annotations") != nil {
		t.Errorf("a pod-identity service account carries annotations: %v", dig(sa, "metadata", "annotations"))
	}
	dy := kustomizeBuild(t, filepath.Join(dir, "services/orders/overlays/dev-use1"))
	if c := dig(objectOf(t, dy, "PodIdentityAssociation", "orders-api"), "spec", "clusterName"); c != "dev-use1" {
		t.Errorf("dev cluster name = %v, want the cell's name", c)
	}
	if _, ok := out.Files["services/legacy-worker/overlays/dev-use1/podidentity.yaml"]; ok {
		t.Error("legacy-worker has no task role but got a pod identity association")
	}
}

func TestMappingStrategyErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"strategy: linear\n", `strategy "linear": want rolling, canary, blue-green`},
		{"canary: {weights: [10, 5]}\n", "canary.weights[1] 5: want increasing percentages"},
		{"canary: {weights: [100]}\n", "canary.weights[0] 100"},
		{"canary: {pause: soon}\n", `canary.pause "soon": want a duration`},
	} {
		_, err := ParseMapping([]byte("cells: [{name: dev}]\ngit: {repoURL: https://x}\n" + tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
