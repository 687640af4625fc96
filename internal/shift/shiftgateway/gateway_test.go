package shiftgateway

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
	"sigs.k8s.io/yaml"

	"github.com/owlstack/owl/internal/shift"
)

func ptr[T any](v T) *T { return &v }

func route(fence string) *gatewayv1.HTTPRoute {
	rt := &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: "shop"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "public"}}},
			Hostnames:       []gatewayv1.Hostname{"orders.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{
				{
					Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr(gatewayv1.PathMatchPathPrefix), Value: ptr("/api")}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{
						{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "orders-ecs", Port: ptr(gatewayv1.PortNumber(80))}, Weight: ptr(int32(1))}},
						{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "orders-eks", Port: ptr(gatewayv1.PortNumber(8080))}, Weight: ptr(int32(0))}},
					},
				},
				{
					// Another rule with the two sides: weighted the same.
					Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr(gatewayv1.PathMatchExact), Value: ptr("/checkout")}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{
						{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "orders-eks", Port: ptr(gatewayv1.PortNumber(8080))}}},
						{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "orders-ecs", Port: ptr(gatewayv1.PortNumber(80))}}},
					},
				},
				{
					// A rule of another service: untouched.
					BackendRefs: []gatewayv1.HTTPBackendRef{
						{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "static", Port: ptr(gatewayv1.PortNumber(80))}, Weight: ptr(int32(7))}},
					},
				},
			},
		},
	}
	if fence != "" {
		rt.Annotations = map[string]string{FenceAnnotation: fence}
	}
	return rt
}

func slice(name, svc string, ready ...*bool) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv6,
	}
	for i, r := range ready {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{"fd00::" + string(rune('1'+i))}, Conditions: discoveryv1.EndpointConditions{Ready: r}})
	}
	return es
}

// apiServerSemantics makes the fake clientset refuse an update whose
// resourceVersion is not the stored one (409 Conflict) and bump it on
// success, as the API server does; the fake's tracker does neither.
func apiServerSemantics(gw *gatewayfake.Clientset) {
	var mu sync.Mutex
	gw.PrependReactor("update", "httproutes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		// Writes take a random moment after their read, so that
		// concurrent writers interleave.
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		mu.Lock()
		defer mu.Unlock()
		obj := a.(k8stesting.UpdateAction).GetObject().(*gatewayv1.HTTPRoute)
		cur, err := gw.Tracker().Get(a.GetResource(), obj.Namespace, obj.Name)
		if err != nil {
			return true, nil, err
		}
		stored := cur.(*gatewayv1.HTTPRoute)
		if obj.ResourceVersion != stored.ResourceVersion {
			return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), obj.Name, errors.New("the object has been modified"))
		}
		n, _ := strconv.Atoi(stored.ResourceVersion)
		obj = obj.DeepCopy()
		obj.ResourceVersion = strconv.Itoa(n + 1)
		if err := gw.Tracker().Update(a.GetResource(), obj, obj.Namespace); err != nil {
			return true, nil, err
		}
		return true, obj, nil
	})
}

func newRoute(t *testing.T, objs ...runtime.Object) (*Route, *gatewayfake.Clientset) {
	t.Helper()
	rt := route("")
	rt.ResourceVersion = "1"
	gw := gatewayfake.NewSimpleClientset(rt)
	apiServerSemantics(gw)
	kube := k8sfake.NewSimpleClientset(objs...)
	r, err := New(gw.GatewayV1(), kube.DiscoveryV1(), Options{Namespace: "shop", Route: "orders", FromService: "orders-ecs", ToService: "orders-eks"})
	if err != nil {
		t.Fatal(err)
	}
	return r, gw
}

func TestSetAndReadWeights(t *testing.T) {
	r, gw := newRoute(t)
	ctx := context.Background()
	schema := httpRouteSchema(t)
	if got, err := r.ReadWeights(ctx); err == nil {
		// Rule 0 says 0%, rule 1 (default weights 1:1) says 50%.
		t.Fatalf("disagreeing rules read as %v", got)
	}
	for _, bp := range []int{1, 500, 5000, 9999, 10000, 0} {
		if err := r.SetWeights(ctx, shift.Split{ToBP: bp}, 3); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadWeights(ctx)
		if err != nil || got.ToBP != bp {
			t.Fatalf("set %d bp, read %v, %v", bp, got, err)
		}
		rt, _ := gw.GatewayV1().HTTPRoutes("shop").Get(ctx, "orders", metav1.GetOptions{})
		validateRoute(t, schema, rt)
		if rt.Annotations[FenceAnnotation] != "3" {
			t.Fatalf("fence annotation %q", rt.Annotations[FenceAnnotation])
		}
		if w := rt.Spec.Rules[2].BackendRefs[0].Weight; *w != 7 {
			t.Fatalf("another service's weight changed to %d", *w)
		}
	}
}

func TestStaleFenceRefused(t *testing.T) {
	r, gw := newRoute(t)
	ctx := context.Background()
	if err := r.SetWeights(ctx, shift.Split{ToBP: 2500}, 10); err != nil {
		t.Fatal(err)
	}
	err := r.SetWeights(ctx, shift.Split{ToBP: 10000}, 9)
	if !errors.Is(err, shift.ErrStaleFence) {
		t.Fatalf("stale fence: %v", err)
	}
	// A second data plane (another controller process) sees the stored
	// fence too.
	other, _ := New(gw.GatewayV1(), nil, Options{Namespace: "shop", Route: "orders", FromService: "orders-ecs", ToService: "orders-eks"})
	if err := other.SetWeights(ctx, shift.Split{ToBP: 0}, 2); !errors.Is(err, shift.ErrStaleFence) {
		t.Fatalf("stale fence from another data plane: %v", err)
	}
	if got, _ := r.ReadWeights(ctx); got.ToBP != 2500 {
		t.Fatalf("a stale write changed the split to %v", got)
	}
	if err := other.SetWeights(ctx, shift.Split{ToBP: 5000}, 11); err != nil {
		t.Fatalf("a newer fence: %v", err)
	}
	rt, err := gw.GatewayV1().HTTPRoutes("shop").Get(ctx, "orders", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt.Annotations[FenceAnnotation] = "eleven"
	if _, err := gw.GatewayV1().HTTPRoutes("shop").Update(ctx, rt, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("garble the fence annotation: %v", err)
	}
	if err := r.SetWeights(ctx, shift.Split{ToBP: 5000}, 12); err == nil || !strings.Contains(err.Error(), FenceAnnotation) {
		t.Fatalf("a garbled fence annotation: %v", err)
	}
}

func TestConcurrentWritersKeepTheHighestFence(t *testing.T) {
	r, _ := newRoute(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for f := range uint64(20) {
		wg.Go(func() {
			err := r.SetWeights(ctx, shift.Split{ToBP: int(f) * 100}, f)
			if err != nil && !errors.Is(err, shift.ErrStaleFence) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := r.ReadWeights(ctx); got.ToBP != 1900 {
		t.Fatalf("after concurrent writers the split is %v, want the highest fence's 19%%", got)
	}
}

func TestCapacityFromEndpointSlices(t *testing.T) {
	yes, no := ptr(true), ptr(false)
	terminating := slice("orders-eks-b", "orders-eks", yes)
	terminating.Endpoints[0].Conditions.Terminating = ptr(true)
	r, _ := newRoute(t,
		slice("orders-ecs-a", "orders-ecs", yes, yes, yes),
		slice("orders-eks-a", "orders-eks", yes, no, nil),
		terminating,
		slice("other", "static", yes))
	ctx := context.Background()
	for sd, want := range map[shift.Side]shift.Capacity{shift.From: {Ready: 3, Desired: 3}, shift.To: {Ready: 2, Desired: 3}} {
		got, err := r.Capacity(ctx, sd)
		if err != nil || got != want {
			t.Errorf("capacity of %s = %+v, %v; want %+v", sd, got, err, want)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{}, {Namespace: "a", Route: "b"}, {Namespace: "a", Route: "b", FromService: "x", ToService: "x"}} {
		if _, err := New(nil, nil, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// httpRouteSchema loads the v1 openAPIV3Schema of the HTTPRoute CRD that
// the gateway-api module ships. Checked with kube-openapi's validator,
// which is what the API server runs for types, formats, enums, patterns,
// lengths and required fields; the CRD's CEL rules
// (x-kubernetes-validations) are not evaluated: no API server here.
func httpRouteSchema(t *testing.T) *spec.Schema {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Skipf("cannot find the gateway-api module: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard", "gateway.networking.k8s.io_httproutes.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema json.RawMessage `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == "v1" {
			var s spec.Schema
			if err := json.Unmarshal(v.Schema.OpenAPIV3Schema, &s); err != nil {
				t.Fatalf("%s: v1 schema: %v", path, err)
			}
			return &s
		}
	}
	t.Fatalf("%s has no v1 version", path)
	return nil
}

func validateRoute(t *testing.T, schema *spec.Schema, rt *gatewayv1.HTTPRoute) {
	t.Helper()
	rt = rt.DeepCopy()
	rt.APIVersion, rt.Kind = "gateway.networking.k8s.io/v1", "HTTPRoute"
	rt.ResourceVersion = ""
	b, err := json.Marshal(rt)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	delete(obj, "status") // the status subresource is the gateway's to write
	if res := validate.NewSchemaValidator(schema, nil, "", strfmt.Default).Validate(obj); !res.IsValid() {
		t.Fatalf("HTTPRoute does not validate against the CRD schema: %v", res.Errors)
	}
}

func TestSchemaCatchesBadWeights(t *testing.T) {
	schema := httpRouteSchema(t)
	rt := route("")
	rt.Spec.Rules[0].BackendRefs[0].Weight = ptr(int32(2_000_000)) // max is 1,000,000
	b, err := json.Marshal(rt)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	delete(obj, "status")
	if res := validate.NewSchemaValidator(schema, nil, "", strfmt.Default).Validate(obj); res.IsValid() {
		t.Fatal("a weight of 2,000,000 passed the CRD schema: the check checks nothing")
	}
}

func TestRuleOptionWeightsOneRule(t *testing.T) {
	rt := route("")
	gw := gatewayfake.NewSimpleClientset(rt)
	ctx := context.Background()
	one := 1
	r, err := New(gw.GatewayV1(), nil, Options{Namespace: "shop", Route: "orders", FromService: "orders-ecs", ToService: "orders-eks", Rule: &one})
	if err != nil {
		t.Fatal(err)
	}
	// Rule 1 alone has default weights 1:1; rule 0's 0% does not count.
	if got, err := r.ReadWeights(ctx); err != nil || got.ToBP != 5000 {
		t.Fatalf("rule 1 reads %v, %v; want 50%%", got, err)
	}
	if err := r.SetWeights(ctx, shift.Split{ToBP: 2500}, 1); err != nil {
		t.Fatal(err)
	}
	got, _ := gw.GatewayV1().HTTPRoutes("shop").Get(ctx, "orders", metav1.GetOptions{})
	if w := got.Spec.Rules[0].BackendRefs[1].Weight; *w != 0 {
		t.Fatalf("rule 0 was weighted too: to weight %d", *w)
	}
	if w := got.Spec.Rules[1].BackendRefs[0].Weight; w == nil || *w != 2500 {
		t.Fatalf("rule 1's to weight is %v, want 2500", w)
	}
	two := 2
	r2, _ := New(gw.GatewayV1(), nil, Options{Namespace: "shop", Route: "orders", FromService: "orders-ecs", ToService: "orders-eks", Rule: &two})
	if _, err := r2.ReadWeights(ctx); err == nil || !strings.Contains(err.Error(), "rule 2 does not exist or does not reference both") {
		t.Fatalf("rule 2 (another service's): %v", err)
	}
	neg := -1
	if _, err := New(gw.GatewayV1(), nil, Options{Namespace: "shop", Route: "orders", FromService: "a", ToService: "b", Rule: &neg}); err == nil {
		t.Fatal("a negative rule index was accepted")
	}
}
