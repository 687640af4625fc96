package main

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/time/rate"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/analysis"
	"github.com/owlstack/owl/internal/shift/awsfake"
	"github.com/owlstack/owl/internal/shift/awspace"
	"github.com/owlstack/owl/internal/shift/shiftgateway"
	"github.com/owlstack/owl/internal/shift/shiftstore"
)

// hermeticAWS makes the SDK's default credential chain find static test
// keys in the environment and nothing else (no shared files, no IMDS).
func hermeticAWS(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDOWLTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "owl-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// splitSource is a metrics source whose sides are equally healthy and
// whose observed split is the one the data plane applies now (toBP): what
// a real source reports for a healthy canary. It remembers the window
// starts it was asked for.
type splitSource struct {
	toBP func() int

	mu     sync.Mutex
	starts []time.Time
}

func (s *splitSource) Observe(_ context.Context, start, end time.Time) (analysis.Window, error) {
	s.mu.Lock()
	s.starts = append(s.starts, start)
	s.mu.Unlock()
	const total = 20000
	to := int64(s.toBP()) * total / shift.FullBP
	lat := func(shift float64) []float64 {
		var l []float64
		for i := range 12 {
			l = append(l, 0.100+0.002*float64((i*7)%5)+shift)
		}
		return l
	}
	return analysis.Window{Start: start, End: end,
		From: analysis.Observation{Requests: total - to, Latency: lat(0)},
		To:   analysis.Observation{Requests: to, Latency: lat(0.0005)},
	}, nil
}

func (s *splitSource) windowStarts() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.starts...)
}

// runShift stores spec as a new shift and ticks a controller over it
// until the shift is final or the deadline passes; it returns the shift's
// last stored state and history.
func runShift(t *testing.T, w *shiftWiring, src analysis.Source, specYAML string, until func(*shift.Shift) bool) (*shift.Shift, []shift.Event) {
	t.Helper()
	ctx := t.Context()
	spec, err := shift.ParseSpec("spec.yaml", []byte(specYAML))
	if err != nil {
		t.Fatal(err)
	}
	store, err := shiftstore.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Create(ctx, shift.New(spec, time.Now())); err != nil {
		t.Fatal(err)
	}
	ctl := shift.NewController(store, shift.Options{
		Plane: w.plane, Source: func(*shift.Spec) (analysis.Source, error) { return src, nil },
		Holder: "test", Log: slog.New(slog.DiscardHandler),
	})
	if until == nil {
		until = func(sh *shift.Shift) bool { return sh.State.Final() }
	}
	var sh *shift.Shift
	for deadline := time.Now().Add(90 * time.Second); ; {
		ctl.Tick(ctx)
		sh, err = store.Get(ctx, spec.Name)
		if err != nil {
			t.Fatal(err)
		}
		if until(sh) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shift %s stuck in %s at %s: %s", sh.Name, sh.State, sh.Split, sh.Reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
	events, err := store.History(ctx, spec.Name, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return sh, events
}

// checkClean fails when the history shows a surfaced AWS error or a
// read-back mismatch.
func checkClean(t *testing.T, sh *shift.Shift, events []shift.Event) {
	t.Helper()
	if sh.State != shift.Succeeded || sh.Split.ToBP != shift.FullBP {
		t.Fatalf("shift ended %s at %s: %s", sh.State, sh.Split, sh.Reason)
	}
	if sh.Mismatches != 0 || sh.SplitMismatches != 0 {
		t.Errorf("%d read-back and %d split mismatches", sh.Mismatches, sh.SplitMismatches)
	}
	for _, e := range events {
		for _, bad := range []string{"Throttl", "PriorRequestNotComplete", "failed", "unavailable", "unknown"} {
			if strings.Contains(e.Reason, bad) {
				t.Errorf("history surfaced %q: %s %s", bad, e.Kind, e.Reason)
			}
		}
	}
}

// throttled counts the calls the fake answered with a throttling error.
func throttled(calls []awsfake.Call) int {
	n := 0
	for _, c := range calls {
		if c.Error != "" {
			n++
		}
	}
	return n
}

func testCloud(t *testing.T, route53Rate, elbRate float64) *shiftWiring {
	hermeticAWS(t)
	cloud := newCloudPlanes(t.Context(), route53Rate, elbRate)
	cloud.retry = awspace.Options{MaxBackoff: 200 * time.Millisecond}
	return &shiftWiring{ctx: t.Context(), cloud: cloud}
}

const (
	ruleARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
	ecsTG   = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-ecs/73e2d6bc24d8a067"
	eksTG   = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-eks/9a8d7c6b5e4f3a21"
)

const cloudSpecCommon = `steps: [10, 50, 100]
hold: 0s
interval: 1s
step_timeout: 5m
min_samples: 100
split_tolerance: 2
analysis: {min_requests: 100, min_intervals: 6}
metrics: {kind: prometheus, url: 'http://127.0.0.1:1'}
`

func TestControllerDrivesALBThroughThrottlingFake(t *testing.T) {
	const elbRate = 40
	fake := awsfake.Start(awsfake.Options{
		Limits:        map[string]rate.Limit{awsfake.ELBv2: elbRate * 2},
		Burst:         2,
		ThrottleShare: 0.15,
		Seed:          7,
	})
	defer fake.Close()
	fake.AddRule(ruleARN, awsfake.WeightedGroup{Arn: ecsTG, Weight: 999}, awsfake.WeightedGroup{Arn: eksTG, Weight: 0})
	for _, tg := range []string{ecsTG, eksTG} {
		fake.SetTargets(tg, awsfake.Target{ID: "10.0.0.1", Port: 80, State: "healthy"}, awsfake.Target{ID: "10.0.0.2", Port: 80, State: "healthy"})
	}
	w := testCloud(t, 5, elbRate)
	toBP := func() int {
		r, _ := fake.Rule(ruleARN)
		var from, to int
		for _, g := range r.Actions[0].TargetGroups {
			if g.Arn == eksTG {
				to = g.Weight
			} else {
				from = g.Weight
			}
		}
		return to * shift.FullBP / max(from+to, 1)
	}
	spec := fmt.Sprintf(`name: orders-alb
from: {name: ecs, address: %s}
to: {name: eks, address: %s}
data_plane:
  kind: alb
  alb: {listener_rule_arn: %s, endpoint: %s}
`, ecsTG, eksTG, ruleARN, fake.URL) + cloudSpecCommon
	sh, events := runShift(t, w, &splitSource{toBP: toBP}, spec, nil)
	checkClean(t, sh, events)
	r, _ := fake.Rule(ruleARN)
	if g := r.Actions[0].TargetGroups; g[0].Weight != 0 || g[1].Weight != 999 {
		t.Fatalf("the fake's rule ends with weights %+v, want ecs 0 and eks 999", g)
	}
	calls := fake.Calls()
	if throttled(calls) == 0 {
		t.Fatal("the fake throttled no call: the test proves nothing about throttling")
	}
	// The shared bucket (burst 2) keeps every second under rate + burst.
	if n := awsfake.MaxPerWindow(awsfake.Arrivals(calls, awsfake.ELBv2), time.Second); n > elbRate+2+2 {
		t.Errorf("%d ELB calls arrived within one second; the pace is %d/s", n, elbRate)
	}
	// One client per API and account: a second shift of the same account
	// shares the bucket.
	p2, err := w.cloud.alb(mustSpec(t, spec))
	if err != nil || p2 == nil || len(w.cloud.elb) != 1 {
		t.Fatalf("second ALB plane: %v, %d clients", err, len(w.cloud.elb))
	}
}

func mustSpec(t *testing.T, text string) *shift.Spec {
	t.Helper()
	s, err := shift.ParseSpec("spec.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestControllerDrivesRoute53ThroughThrottlingFake(t *testing.T) {
	const (
		r53Rate     = 40
		insyncAfter = 150 * time.Millisecond
		ttl         = 1 // seconds
	)
	fake := awsfake.Start(awsfake.Options{
		Limits:            map[string]rate.Limit{awsfake.Route53: r53Rate * 2},
		Burst:             2,
		ThrottleShare:     0.1,
		PriorRequestShare: 0.2,
		InsyncAfter:       insyncAfter,
		Seed:              3,
	})
	defer fake.Close()
	const zone, name = "Z0123456789ABC", "orders.example.com."
	fake.AddRecord(zone, awsfake.RecordSet{Name: name, Type: "A", SetIdentifier: "ecs", Weight: aws.Int64(255), TTL: aws.Int64(ttl), Values: []string{"192.0.2.1"}})
	fake.AddRecord(zone, awsfake.RecordSet{Name: name, Type: "A", SetIdentifier: "eks", Weight: aws.Int64(0), TTL: aws.Int64(ttl), Values: []string{"192.0.2.2"}})
	var eksReady atomic.Bool
	health := func(ready *atomic.Bool) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ready != nil && !ready.Load() {
				http.Error(w, "warming up", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "ok")
		}))
	}
	ecsHealth, eksHealth := health(nil), health(&eksReady)
	defer ecsHealth.Close()
	defer eksHealth.Close()
	w := testCloud(t, r53Rate, 10)
	toBP := func() int {
		f, _ := fake.Record(zone, name, "A", "ecs")
		e, _ := fake.Record(zone, name, "A", "eks")
		return int(*e.Weight * shift.FullBP / max(*f.Weight+*e.Weight, 1))
	}
	src := &splitSource{toBP: toBP}
	spec := fmt.Sprintf(`name: orders-dns
from: {name: ecs, address: ecs}
to: {name: eks, address: eks}
data_plane:
  kind: route53
  route53:
    hosted_zone_id: %s
    record_name: orders.example.com
    endpoint: %s
    poll_interval: 50ms
    health: {from: %s/healthz, to: %s/healthz}
`, zone, fake.URL, ecsHealth.URL, eksHealth.URL) + cloudSpecCommon

	// The eks side is not ready at first: the shift holds before moving
	// any weight, and goes on once the side is ready.
	sh, events := runShift(t, w, src, spec, func(sh *shift.Shift) bool {
		if strings.Contains(sh.Reason, "not ready") && !eksReady.Load() {
			if sh.Split.ToBP != 0 || toBP() != 0 {
				t.Fatalf("weight moved onto a side that is not ready: %s", sh.Split)
			}
			eksReady.Store(true)
		}
		return sh.State.Final()
	})
	if !eksReady.Load() {
		t.Fatal("the controller never held for the eks side's readiness")
	}
	checkClean(t, sh, events)
	if got := toBP(); got != shift.FullBP {
		t.Fatalf("the fake's records end at %d bp to eks", got)
	}
	calls := fake.Calls()
	if throttled(calls) == 0 {
		t.Fatal("the fake throttled no call: the test proves nothing about throttling")
	}
	if n := awsfake.MaxPerWindow(awsfake.Arrivals(calls, awsfake.Route53), time.Second); n > r53Rate+1+2 {
		t.Errorf("%d Route 53 calls arrived within one second; the pace is %d/s", n, r53Rate)
	}
	// Each step's analysis window starts once its change was INSYNC and
	// the records' TTL passed: never before the change plus both.
	var changes []time.Time
	for _, c := range calls {
		if c.Action == "ChangeResourceRecordSets" && c.Error == "" {
			changes = append(changes, c.Time)
		}
	}
	starts := src.windowStarts()
	if len(changes) < 2 || len(starts) == 0 {
		t.Fatalf("%d changes, %d analyses", len(changes), len(starts))
	}
	for _, s := range starts {
		var last time.Time
		for _, c := range changes {
			if c.Before(s) {
				last = c
			}
		}
		if s.Sub(last) < insyncAfter+ttl*time.Second {
			t.Errorf("a window starts %v after its change, before INSYNC (%v) plus the TTL (%ds)", s.Sub(last), insyncAfter, ttl)
		}
	}
}

func TestControllerDrivesGatewayRoute(t *testing.T) {
	ptr := func(v int32) *int32 { return &v }
	port := gatewayv1.PortNumber(80)
	rt := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: "shop", ResourceVersion: "1"},
		Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{
			{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "orders-ecs", Port: &port}, Weight: ptr(1)}},
			{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "orders-eks", Port: &port}, Weight: ptr(0)}},
		}}}},
	}
	ready := true
	slice := func(svc string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: svc + "-1", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		}
	}
	gw := gatewayfake.NewSimpleClientset(rt)
	kube := k8sfake.NewSimpleClientset(slice("orders-ecs"), slice("orders-eks"))
	w := testCloud(t, 5, 10)
	var asked []string
	w.cloud.kube = func(path string) (kubeClients, error) {
		asked = append(asked, path)
		return kubeClients{Routes: gw.GatewayV1(), Slices: kube.DiscoveryV1()}, nil
	}
	routes := gw.GatewayV1().HTTPRoutes("shop")
	toBP := func() int {
		r, err := routes.Get(context.Background(), "orders", metav1.GetOptions{})
		if err != nil {
			t.Error(err)
			return 0
		}
		refs := r.Spec.Rules[0].BackendRefs
		return int(*refs[1].Weight) * shift.FullBP / int(max(*refs[0].Weight+*refs[1].Weight, 1))
	}
	spec := `name: orders-gw
from: {name: ecs, address: orders-ecs}
to: {name: eks, address: orders-eks}
data_plane:
  kind: gateway
  gateway: {kubeconfig: /etc/owl/kubeconfig, namespace: shop, route: orders}
` + cloudSpecCommon
	sh, events := runShift(t, w, &splitSource{toBP: toBP}, spec, nil)
	checkClean(t, sh, events)
	got, _ := routes.Get(context.Background(), "orders", metav1.GetOptions{})
	if refs := got.Spec.Rules[0].BackendRefs; *refs[0].Weight != 0 || *refs[1].Weight != shift.FullBP {
		t.Fatalf("route ends with weights %d/%d", *refs[0].Weight, *refs[1].Weight)
	}
	if f := got.Annotations[shiftgateway.FenceAnnotation]; f == "" || f == "0" {
		t.Fatalf("fence annotation %q", f)
	}
	if len(asked) != 1 || asked[0] != "/etc/owl/kubeconfig" {
		t.Fatalf("clients built for kubeconfigs %q, want one for /etc/owl/kubeconfig", asked)
	}
}

// TestKubeFromConfigTalksToTheServer checks the kubeconfig path end to
// end: the clients it builds reach the server the file names.
func TestKubeFromConfigTalksToTheServer(t *testing.T) {
	// TLS: client-go sends credentials to secure servers only.
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer kube-token" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/orders":
			io.WriteString(w, `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"orders","namespace":"shop"},"spec":{"rules":[{"backendRefs":[{"name":"orders-ecs","port":80,"weight":750},{"name":"orders-eks","port":80,"weight":250}]}]}}`)
		case "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices":
			io.WriteString(w, `{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSliceList","items":[{"metadata":{"name":"e1"},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":true}},{"addresses":["10.0.0.2"],"conditions":{"ready":false}}]}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: u
  user:
    token: kube-token
contexts:
- name: x
  context:
    cluster: c
    user: u
current-context: x
`, api.URL, base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})))), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w := testCloud(t, 5, 10)
	plane, err := w.plane(mustSpec(t, `name: orders-gw
from: {name: ecs, address: orders-ecs}
to: {name: eks, address: orders-eks}
data_plane:
  kind: gateway
  gateway: {kubeconfig: `+kubeconfig+`, namespace: shop, route: orders}
`+cloudSpecCommon))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if s, err := plane.ReadWeights(ctx); err != nil || s.ToBP != 2500 {
		t.Fatalf("read weights through the kubeconfig's server: %v, %v", s, err)
	}
	if c, err := plane.Capacity(ctx, shift.To); err != nil || c.Ready != 1 || c.Desired != 2 {
		t.Fatalf("capacity through the kubeconfig's server: %+v, %v", c, err)
	}
	if _, err := kubeFromConfig(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("a missing kubeconfig: %v", err)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := kubeFromConfig(""); err == nil || !strings.Contains(err.Error(), "in-cluster") {
		t.Fatalf("no kubeconfig outside a cluster: %v", err)
	}
}

func TestCloudSpecErrors(t *testing.T) {
	base := "name: a\nfrom: {name: x, address: %s}\nto: {name: y, address: %s}\ndata_plane:\n%s" + "metrics: {kind: access_log, path: /var/log/owl/access.jsonl}\n"
	alb := func(dp string) string { return fmt.Sprintf(base, ecsTG, eksTG, "  kind: alb\n"+dp) }
	r53 := func(dp string) string { return fmt.Sprintf(base, "ecs", "eks", "  kind: route53\n"+dp) }
	gwy := func(dp string) string { return fmt.Sprintf(base, "orders-ecs", "orders-eks", "  kind: gateway\n"+dp) }
	r53ok := "  route53:\n    hosted_zone_id: Z1\n    record_name: api.example.com\n    health: {from: 'http://a/h', to: 'http://b/h'}\n"
	for _, tc := range []struct{ name, text, want string }{
		{"alb arn service", alb("  alb: {listener_rule_arn: 'arn:aws:s3:::bucket'}\n"), "spec.yaml:6: data_plane.alb.listener_rule_arn"},
		{"alb arn account", alb("  alb: {listener_rule_arn: 'arn:aws:elasticloadbalancing:eu-west-1:12:listener-rule/app/x'}\n"), "12-digit account in the ARN"},
		{"alb region", alb("  alb:\n    listener_rule_arn: " + ruleARN + "\n    region: us-east-1\n"), `spec.yaml:8: data_plane.alb.region: "us-east-1": the listener rule is in eu-west-1`},
		{"alb account", alb("  alb:\n    listener_rule_arn: " + ruleARN + "\n    account: acme\n"), `spec.yaml:8: data_plane.alb.account: "acme": want a 12-digit`},
		{"alb endpoint", alb("  alb:\n    listener_rule_arn: " + ruleARN + "\n    endpoint: localhost:4566\n"), `spec.yaml:8: data_plane.alb.endpoint`},
		{"alb target group", fmt.Sprintf(base, "tg1", eksTG, "  kind: alb\n  alb: {listener_rule_arn: "+ruleARN+"}\n"), `spec.yaml:2: from.address: "tg1": want a target group ARN`},
		{"route53 zone", r53(strings.Replace(r53ok, "Z1", "'zone 1'", 1)), `spec.yaml:7: data_plane.route53.hosted_zone_id: "zone 1"`},
		{"route53 type", r53(r53ok + "    record_type: ALIAS\n"), `spec.yaml:10: data_plane.route53.record_type: "ALIAS": want one of A, AAAA`},
		{"route53 health", r53("  route53:\n    hosted_zone_id: Z1\n    record_name: api.example.com\n    health: {from: 'http://a/h'}\n"), `spec.yaml:9: data_plane.route53.health.to: "": want the http:// or https:// health URL`},
		{"route53 poll", r53(r53ok + "    poll_interval: 1ms\n"), "spec.yaml:10: data_plane.route53.poll_interval: 1ms: want a duration from 10ms to 1m"},
		{"route53 account", r53(r53ok + "    account: '1234'\n"), `spec.yaml:10: data_plane.route53.account: "1234"`},
		{"route53 same set", fmt.Sprintf(base, "ecs", "ecs", "  kind: route53\n"+r53ok), `spec.yaml:3: to.address: "ecs" is also the from side's set identifier`},
		{"gateway namespace", gwy("  gateway: {namespace: Shop, route: orders}\n"), `spec.yaml:6: data_plane.gateway.namespace: "Shop"`},
		{"gateway rule", gwy("  gateway: {namespace: shop, route: orders, rule: -1}\n"), "spec.yaml:6: data_plane.gateway.rule: -1"},
		{"gateway service", fmt.Sprintf(base, "Orders_ECS", "orders-eks", "  kind: gateway\n  gateway: {namespace: shop, route: orders}\n"), `spec.yaml:2: from.address: "Orders_ECS": want the name of a Service`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := shift.ParseSpec("spec.yaml", []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	spec, err := shift.ParseSpec("spec.yaml", []byte(r53(r53ok)))
	if err != nil {
		t.Fatal(err)
	}
	if r := spec.DataPlane.Route53; r.RecordType != "A" || r.PollInterval != 5*time.Second {
		t.Fatalf("route53 defaults not applied: %+v", r)
	}
	spec, err = shift.ParseSpec("spec.yaml", []byte(alb("  alb: {listener_rule_arn: "+ruleARN+"}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if acct, region := spec.DataPlane.ALBAccountRegion(); acct != "123456789012" || region != "eu-west-1" {
		t.Fatalf("ALB account and region from the ARN: %q %q", acct, region)
	}
	spec, err = shift.ParseSpec("spec.yaml", []byte(gwy("  gateway: {namespace: shop, route: orders, rule: 0}\n")))
	if err != nil || spec.DataPlane.Gateway.Rule == nil || *spec.DataPlane.Gateway.Rule != 0 {
		t.Fatalf("gateway rule 0: %+v, %v", spec, err)
	}
}

func TestPacingBuckets(t *testing.T) {
	if elbBucket("123456789012", "eu-west-1", "") == elbBucket("123456789012", "us-east-1", "") {
		t.Error("ELB buckets of two regions are shared; ELB throttles per region")
	}
	if route53Bucket("123456789012", "") == route53Bucket("210987654321", "") {
		t.Error("two accounts share a Route 53 bucket")
	}
	if route53Bucket("", "http://127.0.0.1:1") == route53Bucket("", "") {
		t.Error("a test endpoint shares AWS's bucket")
	}
	// Route 53 is global and throttled per account: shifts of one account
	// share one bucket (one paced client) whatever their hosted zone, and
	// another account has its own.
	w := testCloud(t, 5, 10)
	for i, tc := range []struct {
		account, zone string
		clients       int
	}{
		{"123456789012", "Z0123456789ABC", 1},
		{"123456789012", "Z9876543210XYZ", 1},
		{"210987654321", "Z0123456789ABC", 2},
	} {
		spec := mustSpec(t, fmt.Sprintf(`name: orders-dns
from: {name: ecs, address: ecs}
to: {name: eks, address: eks}
data_plane:
  kind: route53
  route53:
    hosted_zone_id: %s
    record_name: orders.example.com
    account: "%s"
    health: {from: http://127.0.0.1:1/healthz, to: http://127.0.0.1:1/healthz}
`, tc.zone, tc.account)+cloudSpecCommon)
		if _, err := w.cloud.route53(spec); err != nil {
			t.Fatalf("shift %d: %v", i, err)
		}
		if n := len(w.cloud.r53); n != tc.clients {
			t.Errorf("after shift %d (account %s, zone %s): %d Route 53 clients, want %d", i, tc.account, tc.zone, n, tc.clients)
		}
	}
}
