package shift

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/owlstack/owl/internal/shift/analysis"
)

// Spec describes one shift: what moves where, in which steps, how each
// step is judged, and how to go back.
type Spec struct {
	// Name identifies the shift (letters, digits, '-', '_', '.'; at most 63).
	Name string `yaml:"name" json:"name"`
	// Service is the migrated service whose traffic the shift moves, as
	// the migration fleet view names it; empty means the shift's name.
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	// From is the side traffic leaves; To the side it moves to.
	From Endpoint `yaml:"from" json:"from"`
	To   Endpoint `yaml:"to" json:"to"`
	// DataPlane is what routes traffic between the sides.
	DataPlane DataPlaneSpec `yaml:"data_plane" json:"data_plane"`
	// Steps are the To side's shares in percent, rising, the last one 100.
	Steps []float64 `yaml:"steps" json:"steps"`
	// Hold is the least time each step is held before it may be promoted.
	Hold time.Duration `yaml:"hold" json:"hold"`
	// MinSamples is the fewest requests each side must serve in a step's
	// window before its analysis counts.
	MinSamples int64 `yaml:"min_samples" json:"min_samples"`
	// Interval is the time between two analyses of a step.
	Interval time.Duration `yaml:"interval" json:"interval"`
	// StepTimeout is how long a step may go unpromoted (inconclusive
	// analyses, a metrics source down, a refusing gate, a side without
	// capacity) before the shift rolls back; pauses do not count.
	StepTimeout time.Duration `yaml:"step_timeout" json:"step_timeout"`
	// SplitTolerance is how far, in percentage points, the observed share
	// of the To side may stray from the set one (plus sampling noise).
	SplitTolerance float64 `yaml:"split_tolerance" json:"split_tolerance"`
	// Analysis decides each step.
	Analysis analysis.Config `yaml:"analysis" json:"analysis"`
	// Metrics is where the analysis reads what each side served.
	Metrics MetricsSpec `yaml:"metrics" json:"metrics"`
	// Rollback is how the shift goes back.
	Rollback RollbackSpec `yaml:"rollback" json:"rollback"`
	// PauseAfter lists steps (in percent) after which the shift waits for
	// a human to resume or promote it.
	PauseAfter []float64 `yaml:"pause_after" json:"pause_after,omitempty"`
	// Gates are webhooks asked before every promotion: 2xx lets it go.
	Gates []Gate `yaml:"gates" json:"gates,omitempty"`
}

// Endpoint is one side of a shift: a name for people and metrics, and its
// address in the data plane's terms (an upstream URL for the proxy, a
// target group ARN for ALB, a record set identifier for Route 53, a
// backend Service name for the Gateway API).
type Endpoint struct {
	Name    string `yaml:"name" json:"name"`
	Address string `yaml:"address" json:"address"`
}

// Data plane kinds.
const (
	PlaneProxy   = "proxy"
	PlaneALB     = "alb"
	PlaneRoute53 = "route53"
	PlaneGateway = "gateway"
)

// DataPlaneSpec chooses the data plane and holds its settings.
type DataPlaneSpec struct {
	// Kind is proxy, alb, route53 or gateway.
	Kind string `yaml:"kind" json:"kind"`
	// Proxy addresses owl's weighted proxy: empty URL means the proxy
	// running in the same process (owl up).
	Proxy struct {
		URL string `yaml:"url" json:"url,omitempty"`
	} `yaml:"proxy" json:"proxy"`
	// ALB names the listener rule whose forward action carries the weights
	// (the sides' addresses are target group ARNs).
	ALB ALBSpec `yaml:"alb" json:"alb"`
	// Route53 names the weighted records (the sides' addresses are their
	// set identifiers).
	Route53 Route53Spec `yaml:"route53" json:"route53"`
	// Gateway names the HTTPRoute whose backendRefs carry the weights (the
	// sides' addresses are backend Service names).
	Gateway GatewaySpec `yaml:"gateway" json:"gateway"`
}

// ALBSpec locates an ALB listener rule. AWS calls are paced per API and
// account: the account is Account, else the rule ARN's.
type ALBSpec struct {
	// Region is the rule's region; empty means the rule ARN's.
	Region          string `yaml:"region" json:"region,omitempty"`
	ListenerRuleARN string `yaml:"listener_rule_arn" json:"listener_rule_arn,omitempty"`
	// Account overrides the account the pacing bucket is shared by.
	Account string `yaml:"account" json:"account,omitempty"`
	// Endpoint overrides the AWS endpoint (tests, LocalStack).
	Endpoint string `yaml:"endpoint" json:"endpoint,omitempty"`
}

// Route53Spec locates two weighted records and says how to learn the
// capacity behind them, which DNS does not know.
type Route53Spec struct {
	HostedZoneID string `yaml:"hosted_zone_id" json:"hosted_zone_id,omitempty"`
	RecordName   string `yaml:"record_name" json:"record_name,omitempty"`
	// RecordType is the records' type (default A).
	RecordType string `yaml:"record_type" json:"record_type,omitempty"`
	// Account names the AWS account whose Route 53 rate the shift shares
	// with others; empty means one bucket per endpoint.
	Account string `yaml:"account" json:"account,omitempty"`
	// Endpoint overrides the AWS endpoint (tests, LocalStack).
	Endpoint string `yaml:"endpoint" json:"endpoint,omitempty"`
	// PollInterval is the time between two checks of a change's INSYNC
	// status (default 5s).
	PollInterval time.Duration `yaml:"poll_interval" json:"poll_interval,omitempty"`
	// Health names each side's health URL: a 2xx answer means the side
	// behind its record is ready to take weight.
	Health struct {
		From string `yaml:"from" json:"from,omitempty"`
		To   string `yaml:"to" json:"to,omitempty"`
	} `yaml:"health" json:"health"`
}

// GatewaySpec locates a Gateway API HTTPRoute.
type GatewaySpec struct {
	// Kubeconfig is the kubeconfig file; empty means the in-cluster
	// configuration (service account).
	Kubeconfig string `yaml:"kubeconfig" json:"kubeconfig,omitempty"`
	Namespace  string `yaml:"namespace" json:"namespace,omitempty"`
	Route      string `yaml:"route" json:"route,omitempty"`
	// Rule, when set, is the index of the one rule to weight; nil weights
	// every rule that references both sides.
	Rule *int `yaml:"rule" json:"rule,omitempty"`
}

// Metrics source kinds.
const (
	MetricsProxy      = "proxy"
	MetricsPrometheus = "prometheus"
	MetricsAccessLog  = "access_log"
)

// MetricsSpec chooses where the analysis reads each side's requests,
// errors and latency.
type MetricsSpec struct {
	// Kind is proxy (owl's proxy's per-side metrics), prometheus or access_log.
	Kind string `yaml:"kind" json:"kind"`
	// URL is the proxy's metrics URL or the Prometheus HTTP API base URL;
	// empty with kind proxy means the proxy in the same process.
	URL string `yaml:"url" json:"url,omitempty"`
	// Path is the access log file (kind access_log).
	Path string `yaml:"path" json:"path,omitempty"`
	// Service is the service label to select (kinds prometheus, access_log).
	Service string `yaml:"service" json:"service,omitempty"`
	// Interval is the length of the intervals of the latency series.
	Interval time.Duration `yaml:"interval" json:"interval"`
}

// Rollback modes.
const (
	RollbackHalve = "halve" // halve the To side's share at each step back
	RollbackSteps = "steps" // walk back through Steps (or Rollback.Steps)
)

// RollbackSpec sets how a shift goes back to the From side: gradually, so
// that the From side warms up, and never onto a From side without capacity.
type RollbackSpec struct {
	// Mode is halve (the default) or steps.
	Mode string `yaml:"mode" json:"mode"`
	// Steps are the To side's shares (percent) to step back through with
	// mode steps; empty means the shift's own steps in reverse.
	Steps []float64 `yaml:"steps" json:"steps,omitempty"`
	// Hold is the time each step back is held.
	Hold time.Duration `yaml:"hold" json:"hold"`
	// MinPercent is the share below which halving goes straight to 0.
	MinPercent float64 `yaml:"min_percent" json:"min_percent"`
}

// Gate is a webhook asked before each promotion.
type Gate struct {
	Name    string        `yaml:"name" json:"name"`
	URL     string        `yaml:"url" json:"url"`
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
}

// DefaultSpec is the spec every parsed spec starts from.
func DefaultSpec() Spec {
	return Spec{
		DataPlane:      DataPlaneSpec{Kind: PlaneProxy},
		Steps:          []float64{1, 5, 10, 25, 50, 100},
		Hold:           2 * time.Minute,
		MinSamples:     200,
		Interval:       30 * time.Second,
		StepTimeout:    30 * time.Minute,
		SplitTolerance: 2,
		Analysis:       analysis.DefaultConfig(),
		Metrics:        MetricsSpec{Kind: MetricsProxy, Interval: 10 * time.Second},
		Rollback:       RollbackSpec{Mode: RollbackHalve, Hold: 30 * time.Second, MinPercent: 1},
	}
}

// StepBP is step i's To share in basis points.
func (s *Spec) StepBP(i int) int { return percentBP(s.Steps[i]) }

func percentBP(p float64) int { return int(math.Round(p * 100)) }

// PauseAfterStep reports whether the shift pauses after step i.
func (s *Spec) PauseAfterStep(i int) bool {
	for _, p := range s.PauseAfter {
		if percentBP(p) == s.StepBP(i) {
			return true
		}
	}
	return false
}

// SpecError is one problem in a spec file, at a line.
type SpecError struct {
	File string
	Line int
	Msg  string
}

func (e SpecError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ParseSpec decodes and checks a YAML spec strictly: unknown or repeated
// keys, wrong types and out-of-range values are errors naming file:line.
// Every problem found is reported, joined.
func ParseSpec(file string, data []byte) (*Spec, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, SpecError{File: file, Msg: "empty spec: expected a mapping with name, from, to and steps"}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, SpecError{File: file, Line: 1, Msg: "expected a mapping with name, from, to and steps"}
	}
	spec := DefaultSpec()
	// A list in the file replaces the default list.
	spec.Steps = nil
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		return nil, yamlError(file, err)
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return nil, SpecError{File: file, Msg: "expected one YAML document, found more"}
	}
	if spec.Steps == nil && find(root.Content[0], "steps") == nil {
		spec.Steps = DefaultSpec().Steps
	}
	if errs := spec.validate(file, root.Content[0]); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &spec, nil
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// yamlError turns yaml.v3's messages into file:line errors.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "unmarshal errors:\n"); ok {
		var errs []error
		for _, l := range strings.Split(rest, "\n") {
			errs = append(errs, lineError(file, strings.TrimSpace(l)))
		}
		return errors.Join(errs...)
	}
	return lineError(file, msg)
}

func lineError(file, msg string) error {
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return SpecError{File: file, Msg: msg}
	}
	n, _ := strconv.Atoi(m[1])
	text := m[2]
	if f, ok := strings.CutPrefix(text, "field "); ok {
		if name, _, ok := strings.Cut(f, " not found in type "); ok {
			text = fmt.Sprintf("unknown key %q", name)
		}
	}
	text = strings.ReplaceAll(text, "!!str", "text")
	text = strings.ReplaceAll(text, "!!int", "integer")
	text = strings.ReplaceAll(text, "!!seq", "list")
	text = strings.ReplaceAll(text, "!!map", "mapping")
	text = strings.ReplaceAll(text, "time.Duration", "a duration such as 30s or 5m")
	return SpecError{File: file, Line: n, Msg: text}
}

// find returns the value node at a path of mapping keys and list indexes
// ("steps", "2"), or nil.
func find(n *yaml.Node, path ...string) *yaml.Node {
	for _, p := range path {
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return nil
			}
			n = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
	}
	return n
}

func (s *Spec) validate(file string, root *yaml.Node) []error {
	var errs []error
	// bad reports a problem with the value at path (or the nearest key
	// above it that the file has).
	bad := func(path string, format string, args ...any) {
		parts := strings.Split(path, ".")
		line := 0
		for k := len(parts); k > 0 && line == 0; k-- {
			if n := find(root, parts[:k]...); n != nil {
				line = n.Line
			}
		}
		errs = append(errs, SpecError{File: file, Line: line, Msg: path + ": " + fmt.Sprintf(format, args...)})
	}
	if s.Name == "" {
		bad("name", "missing: every shift needs a name")
	} else if !namePattern.MatchString(s.Name) {
		bad("name", "%q: want letters, digits, '.', '_' or '-' (at most 63, starting with a letter or digit)", s.Name)
	}
	for _, side := range []struct {
		key string
		e   Endpoint
	}{{"from", s.From}, {"to", s.To}} {
		if side.e.Name == "" {
			bad(side.key+".name", "missing: name the %s side (e.g. ecs or eks)", side.key)
		}
		if side.e.Address == "" && s.DataPlane.Kind != PlaneProxy {
			bad(side.key+".address", "missing: the %s side's address in the %s data plane", side.key, s.DataPlane.Kind)
		}
	}
	if s.From.Name != "" && s.From.Name == s.To.Name {
		bad("to.name", "%q is also the from side's name: the sides need different names", s.To.Name)
	}
	switch s.DataPlane.Kind {
	case PlaneProxy:
		if u := s.DataPlane.Proxy.URL; u != "" && !httpURL(u) {
			bad("data_plane.proxy.url", "%q: want an http:// or https:// URL, or nothing for the proxy in this process", u)
		}
	case PlaneALB:
		s.validateALB(bad)
	case PlaneRoute53:
		s.validateRoute53(bad)
	case PlaneGateway:
		s.validateGateway(bad)
	default:
		bad("data_plane.kind", "%q: want proxy, alb, route53 or gateway", s.DataPlane.Kind)
	}
	if len(s.Steps) == 0 {
		bad("steps", "empty: want rising percentages ending at 100, e.g. [1, 5, 10, 25, 50, 100]")
	}
	prev := 0
	for i, p := range s.Steps {
		bp := percentBP(p)
		switch {
		case math.IsNaN(p) || p <= 0 || p > 100:
			bad(fmt.Sprintf("steps.%d", i), "%v: want a percentage in (0, 100]", p)
		case math.Abs(p*100-float64(bp)) > 1e-6:
			bad(fmt.Sprintf("steps.%d", i), "%v: want at most two decimals (basis points)", p)
		case bp <= prev:
			bad(fmt.Sprintf("steps.%d", i), "%v: steps must rise (the one before is %v)", p, float64(prev)/100)
		}
		prev = bp
	}
	if n := len(s.Steps); n > 0 && percentBP(s.Steps[n-1]) != FullBP {
		bad(fmt.Sprintf("steps.%d", n-1), "%v: the last step must be 100", s.Steps[n-1])
	}
	for i, p := range s.PauseAfter {
		found := false
		for j := range s.Steps {
			found = found || percentBP(p) == s.StepBP(j)
		}
		if !found {
			bad(fmt.Sprintf("pause_after.%d", i), "%v is not one of the steps", p)
		}
	}
	if s.Hold < 0 {
		bad("hold", "%v: want a duration >= 0", s.Hold)
	}
	if s.MinSamples < 0 {
		bad("min_samples", "%d: want a count >= 0", s.MinSamples)
	}
	if s.Interval < time.Second {
		bad("interval", "%v: want at least 1s between analyses", s.Interval)
	}
	if s.StepTimeout <= s.Hold {
		bad("step_timeout", "%v: want more than hold (%v)", s.StepTimeout, s.Hold)
	}
	if !(s.SplitTolerance > 0 && s.SplitTolerance <= 50) {
		bad("split_tolerance", "%v: want percentage points in (0, 50]", s.SplitTolerance)
	}
	if err := s.Analysis.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			path, msg, _ := strings.Cut(line, ": ")
			bad(path, "%s", msg)
		}
	}
	switch s.Metrics.Kind {
	case MetricsProxy:
		if s.DataPlane.Kind != PlaneProxy && s.Metrics.URL == "" {
			bad("metrics.url", "missing: the proxy's metrics URL (the data plane is %s, not the proxy)", s.DataPlane.Kind)
		}
	case MetricsPrometheus:
		if !httpURL(s.Metrics.URL) {
			bad("metrics.url", "%q: want the Prometheus HTTP API base URL (http://...)", s.Metrics.URL)
		}
	case MetricsAccessLog:
		if s.Metrics.Path == "" {
			bad("metrics.path", "missing: the access log file to read")
		}
	default:
		bad("metrics.kind", "%q: want proxy, prometheus or access_log", s.Metrics.Kind)
	}
	if s.Metrics.Interval < time.Second {
		bad("metrics.interval", "%v: want at least 1s", s.Metrics.Interval)
	}
	switch s.Rollback.Mode {
	case RollbackHalve:
	case RollbackSteps:
		prev := FullBP + 1
		for i, p := range s.Rollback.Steps {
			bp := percentBP(p)
			if bp < 0 || bp >= prev {
				bad(fmt.Sprintf("rollback.steps.%d", i), "%v: want falling percentages in [0, 100)", p)
			}
			prev = bp
		}
	default:
		bad("rollback.mode", "%q: want halve or steps", s.Rollback.Mode)
	}
	if s.Rollback.Hold < 0 {
		bad("rollback.hold", "%v: want a duration >= 0", s.Rollback.Hold)
	}
	if !(s.Rollback.MinPercent > 0 && s.Rollback.MinPercent < 100) {
		bad("rollback.min_percent", "%v: want a percentage in (0, 100)", s.Rollback.MinPercent)
	}
	for i, g := range s.Gates {
		if g.Name == "" {
			bad(fmt.Sprintf("gates.%d.name", i), "missing")
		}
		if !httpURL(g.URL) {
			bad(fmt.Sprintf("gates.%d.url", i), "%q: want an http:// or https:// URL", g.URL)
		}
		if g.Timeout <= 0 {
			s.Gates[i].Timeout = 10 * time.Second
		}
	}
	return errs
}

// arnParts splits an ARN into partition, service, region, account and
// resource; ok is false when it has fewer than six ':'-separated parts.
func arnParts(arn string) (partition, service, region, account, resource string, ok bool) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[1] == "" || p[2] == "" {
		return "", "", "", "", "", false
	}
	return p[1], p[2], p[3], p[4], p[5], true
}

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	zonePattern    = regexp.MustCompile(`^(/hostedzone/)?[A-Z0-9]{1,32}$`)
	// dns1035 is a Kubernetes Service name.
	dns1035 = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// dns1123 is a Kubernetes namespace or object name.
	dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
)

// Route53RecordTypes are the record types Route 53 can weight.
var Route53RecordTypes = []string{"A", "AAAA", "CAA", "CNAME", "DS", "MX", "NAPTR", "PTR", "SPF", "SRV", "TXT", "HTTPS", "SVCB", "TLSA", "SSHFP"}

// ALBAccountRegion returns the account and region of the spec's ALB
// rule: Account and Region when set, else the rule ARN's.
func (d *DataPlaneSpec) ALBAccountRegion() (account, region string) {
	_, _, region, account, _, _ = arnParts(d.ALB.ListenerRuleARN)
	if d.ALB.Account != "" {
		account = d.ALB.Account
	}
	if d.ALB.Region != "" {
		region = d.ALB.Region
	}
	return account, region
}

func (s *Spec) validateALB(bad func(path, format string, args ...any)) {
	a := s.DataPlane.ALB
	_, svc, region, account, res, ok := arnParts(a.ListenerRuleARN)
	switch {
	case !ok || svc != "elasticloadbalancing" || !strings.HasPrefix(res, "listener-rule/"):
		bad("data_plane.alb.listener_rule_arn", "%q: want the ARN of the listener rule (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/...)", a.ListenerRuleARN)
	case !regionPattern.MatchString(region) || !accountPattern.MatchString(account):
		bad("data_plane.alb.listener_rule_arn", "%q: want a region (e.g. eu-west-1) and a 12-digit account in the ARN", a.ListenerRuleARN)
	case a.Region != "" && a.Region != region:
		bad("data_plane.alb.region", "%q: the listener rule is in %s", a.Region, region)
	}
	if a.Region != "" && !regionPattern.MatchString(a.Region) {
		bad("data_plane.alb.region", "%q: want an AWS region such as eu-west-1", a.Region)
	}
	if a.Account != "" && !accountPattern.MatchString(a.Account) {
		bad("data_plane.alb.account", "%q: want a 12-digit AWS account id", a.Account)
	}
	if a.Endpoint != "" && !httpURL(a.Endpoint) {
		bad("data_plane.alb.endpoint", "%q: want an http:// or https:// URL, or nothing for AWS", a.Endpoint)
	}
	for _, side := range []struct {
		key, addr string
	}{{"from", s.From.Address}, {"to", s.To.Address}} {
		if side.addr == "" {
			continue // reported as missing
		}
		if _, svc, _, _, res, ok := arnParts(side.addr); !ok || svc != "elasticloadbalancing" || !strings.HasPrefix(res, "targetgroup/") {
			bad(side.key+".address", "%q: want a target group ARN (arn:aws:elasticloadbalancing:...:targetgroup/...)", side.addr)
		}
	}
	if s.From.Address != "" && s.From.Address == s.To.Address {
		bad("to.address", "%q is also the from side's target group", s.To.Address)
	}
}

func (s *Spec) validateRoute53(bad func(path, format string, args ...any)) {
	r := &s.DataPlane.Route53
	if r.HostedZoneID == "" {
		bad("data_plane.route53.hosted_zone_id", "missing: the hosted zone of the weighted records")
	} else if !zonePattern.MatchString(r.HostedZoneID) {
		bad("data_plane.route53.hosted_zone_id", "%q: want a hosted zone id such as Z0123456789ABCDEFGHIJ", r.HostedZoneID)
	}
	if r.RecordName == "" {
		bad("data_plane.route53.record_name", "missing: the name of the weighted records")
	} else if len(r.RecordName) > 255 || strings.ContainsAny(r.RecordName, " \t/") {
		bad("data_plane.route53.record_name", "%q: want a DNS name such as api.example.com", r.RecordName)
	}
	if r.RecordType == "" {
		r.RecordType = "A"
	} else if !slices.Contains(Route53RecordTypes, r.RecordType) {
		bad("data_plane.route53.record_type", "%q: want one of %s", r.RecordType, strings.Join(Route53RecordTypes, ", "))
	}
	if r.Account != "" && !accountPattern.MatchString(r.Account) {
		bad("data_plane.route53.account", "%q: want a 12-digit AWS account id", r.Account)
	}
	if r.Endpoint != "" && !httpURL(r.Endpoint) {
		bad("data_plane.route53.endpoint", "%q: want an http:// or https:// URL, or nothing for AWS", r.Endpoint)
	}
	if r.PollInterval == 0 {
		r.PollInterval = 5 * time.Second
	} else if r.PollInterval < 10*time.Millisecond || r.PollInterval > time.Minute {
		bad("data_plane.route53.poll_interval", "%v: want a duration from 10ms to 1m", r.PollInterval)
	}
	for _, h := range []struct{ key, url string }{{"from", r.Health.From}, {"to", r.Health.To}} {
		if !httpURL(h.url) {
			bad("data_plane.route53.health."+h.key, "%q: want the http:// or https:// health URL of the %s side (DNS knows nothing of its capacity)", h.url, h.key)
		}
	}
	for _, side := range []struct{ key, addr string }{{"from", s.From.Address}, {"to", s.To.Address}} {
		if len(side.addr) > 128 {
			bad(side.key+".address", "%q: a set identifier has at most 128 characters", side.addr)
		}
	}
	if s.From.Address != "" && s.From.Address == s.To.Address {
		bad("to.address", "%q is also the from side's set identifier", s.To.Address)
	}
}

func (s *Spec) validateGateway(bad func(path, format string, args ...any)) {
	g := s.DataPlane.Gateway
	if g.Namespace == "" || g.Route == "" {
		bad("data_plane.gateway", "want namespace and route (the HTTPRoute whose backendRefs carry the weights)")
	}
	if g.Namespace != "" && !dns1035.MatchString(g.Namespace) {
		bad("data_plane.gateway.namespace", "%q: want a Kubernetes namespace name (lower-case letters, digits, '-')", g.Namespace)
	}
	if g.Route != "" && !dns1123.MatchString(g.Route) {
		bad("data_plane.gateway.route", "%q: want a Kubernetes object name (lower-case letters, digits, '-', '.')", g.Route)
	}
	if g.Rule != nil && *g.Rule < 0 {
		bad("data_plane.gateway.rule", "%d: want a rule index >= 0", *g.Rule)
	}
	for _, side := range []struct{ key, addr string }{{"from", s.From.Address}, {"to", s.To.Address}} {
		if side.addr != "" && !dns1035.MatchString(side.addr) {
			bad(side.key+".address", "%q: want the name of a Service in namespace %s", side.addr, g.Namespace)
		}
	}
	if s.From.Address != "" && s.From.Address == s.To.Address {
		bad("to.address", "%q is also the from side's Service", s.To.Address)
	}
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
