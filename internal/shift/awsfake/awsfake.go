// Package awsfake is an in-process stand-in for the AWS APIs owl's shift
// data planes call, speaking their real wire formats so that the real SDK
// clients can be pointed at it: the awsquery protocol (form-encoded
// Action=... requests, XML answers) of Elastic Load Balancing v2, and the
// REST-XML protocol of Route 53.
//
// Like AWS it throttles: calls above a configured rate, and a configured
// share of all calls, get Throttling errors; Route 53 changes also get
// PriorRequestNotComplete, and stay PENDING for a while before INSYNC. It
// records every call with its arrival time, so that tests can check how
// fast clients really called.
//
// Supported: ELBv2 DescribeRules, ModifyRule, DescribeTargetHealth; Route 53
// ChangeResourceRecordSets (UPSERT, CREATE, DELETE), ListResourceRecordSets
// and GetChange. Record sets are listed in plain name order, not Route 53's
// reversed-label order.
package awsfake

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/time/rate"

	"github.com/owlstack/owl/internal/shift/awspace"
)

// The APIs as the call log names them.
const (
	ELBv2   = "elasticloadbalancing"
	Route53 = "route53"
)

const (
	elbNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
	r53NS = "https://route53.amazonaws.com/doc/2013-04-01/"
)

// Options configure the fake's throttling and timing.
type Options struct {
	// Limits are the server-side rates per API (requests per second, with
	// a burst of Burst): calls above them are throttled, as AWS does.
	// An API without a limit is not rate limited.
	Limits map[string]rate.Limit
	Burst  int
	// ThrottleShare is the share (0..1) of calls answered with a throttling
	// error regardless of rate; PriorRequestShare the share of Route 53
	// changes answered with PriorRequestNotComplete.
	ThrottleShare     float64
	PriorRequestShare float64
	// InsyncAfter is how long a Route 53 change stays PENDING.
	InsyncAfter time.Duration
	// Seed makes the injected errors repeatable.
	Seed uint64
}

// Call is one request the fake received.
type Call struct {
	Time   time.Time
	API    string
	Action string
	// Error is the error code answered, "" for success.
	Error string
	// RateLimited is set when the call was throttled because it exceeded
	// the server-side rate (Options.Limits), not by random injection.
	RateLimited bool
	// Sent is when the client sent the call, if it said so (SentHeader).
	Sent time.Time
}

// Server is the fake AWS endpoint.
type Server struct {
	*httptest.Server
	opts     Options
	mu       sync.Mutex
	rng      *rand.Rand
	limiters map[string]*rate.Limiter
	calls    []Call
	rules    map[string]*Rule
	targets  map[string][]Target
	zones    map[string]map[recordKey]*RecordSet
	changes  map[string]time.Time
	nextID   int
}

// Start runs a fake on 127.0.0.1 until Close.
func Start(opts Options) *Server {
	s := &Server{
		opts:     opts,
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		limiters: map[string]*rate.Limiter{},
		rules:    map[string]*Rule{},
		targets:  map[string][]Target{},
		zones:    map[string]map[recordKey]*RecordSet{},
		changes:  map[string]time.Time{},
	}
	burst := max(opts.Burst, 1)
	for api, l := range opts.Limits {
		s.limiters[api] = rate.NewLimiter(l, burst)
	}
	s.Server = httptest.NewServer(s)
	return s
}

// Config returns an SDK configuration that reaches the fake: region
// us-east-1, static test credentials, BaseEndpoint the fake's URL.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDFAKE", SecretAccessKey: "fake-secret", Source: "awsfake"}, nil
		}),
	}
}

// Calls returns every call received so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// SentHeader carries the time a client scheduled a call (see StampSent).
const SentHeader = "X-Awsfake-Sent"

// StampSent wraps an SDK HTTP client so that every attempt carries the
// time its token bucket scheduled it (awspace.TokenTime, else the time it
// was handed to base), which the fake logs as Call.Sent: free of the
// scheduling and network delay that arrival times include.
func StampSent(base aws.HTTPClient) aws.HTTPClient {
	return stampClient{base}
}

type stampClient struct{ base aws.HTTPClient }

func (c stampClient) Do(req *http.Request) (*http.Response, error) {
	at, ok := awspace.TokenTime(req.Context())
	if !ok {
		at = time.Now()
	}
	req.Header.Set(SentHeader, at.Format(time.RFC3339Nano))
	return c.base.Do(req)
}

// Arrivals returns the arrival times of the calls to api.
func Arrivals(calls []Call, api string) []time.Time {
	var ts []time.Time
	for _, c := range calls {
		if c.API == api {
			ts = append(ts, c.Time)
		}
	}
	return ts
}

// Sends returns the send times (Call.Sent) of the calls to api that
// carried one.
func Sends(calls []Call, api string) []time.Time {
	var ts []time.Time
	for _, c := range calls {
		if c.API == api && !c.Sent.IsZero() {
			ts = append(ts, c.Sent)
		}
	}
	return ts
}

// Delay returns the smallest and largest time from send to arrival of
// the calls to api that carried a send time.
func Delay(calls []Call, api string) (lo, hi time.Duration) {
	first := true
	for _, c := range calls {
		if c.API != api || c.Sent.IsZero() {
			continue
		}
		d := c.Time.Sub(c.Sent)
		if first || d < lo {
			lo = d
		}
		if first || d > hi {
			hi = d
		}
		first = false
	}
	return lo, hi
}

// MaxPerWindow returns the largest number of times within any window of
// length w.
func MaxPerWindow(ts []time.Time, w time.Duration) int {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// CheckPace checks, from a fake's log, that calls to api kept to rate r
// with burst b: at most r + b calls were scheduled within any second (the
// times the token bucket handed out), and at most r·(1s + d) + b arrived
// within any second, d being the spread of the schedule-to-arrival delays
// actually seen (timers and scheduling on a busy machine). It returns a
// summary of what it saw, or an error naming the first limit broken.
func CheckPace(calls []Call, api string, r, b int) (string, error) {
	sends, arrivals := Sends(calls, api), Arrivals(calls, api)
	if len(sends) != len(arrivals) {
		return "", fmt.Errorf("%d of %d calls carry their send time", len(sends), len(arrivals))
	}
	scheduled := MaxPerWindow(sends, time.Second)
	if scheduled > r+b {
		return "", fmt.Errorf("%d calls scheduled within one second, configured %d/s with burst %d", scheduled, r, b)
	}
	lo, hi := Delay(calls, api)
	spread := hi - lo
	limit := int(float64(r)*(time.Second+spread).Seconds()) + b
	arrived := MaxPerWindow(arrivals, time.Second)
	if arrived > limit {
		return "", fmt.Errorf("%d calls arrived within one second, configured %d/s, delay spread %v: more than %d", arrived, r, spread, limit)
	}
	return fmt.Sprintf("%s: at most %d calls scheduled and %d arrived within a second (rate %d/s, delay spread %v)", api, scheduled, arrived, r, spread), nil
}

// ServeHTTP answers one AWS API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/2013-04-01/") {
		s.serveRoute53(w, r)
		return
	}
	s.serveELB(w, r)
}

// admit logs a call and decides whether it is throttled.
func (s *Server) admit(r *http.Request, api, action string, prior bool) string {
	now := time.Now()
	sent, _ := time.Parse(time.RFC3339Nano, r.Header.Get(SentHeader))
	s.mu.Lock()
	defer s.mu.Unlock()
	code, limited := "", false
	if l := s.limiters[api]; l != nil && !l.AllowN(now, 1) {
		code, limited = "Throttling", true
	} else if s.opts.ThrottleShare > 0 && s.rng.Float64() < s.opts.ThrottleShare {
		code = "Throttling"
		if api == ELBv2 && s.rng.IntN(2) == 0 {
			code = "ThrottlingException"
		}
	} else if prior && s.opts.PriorRequestShare > 0 && s.rng.Float64() < s.opts.PriorRequestShare {
		code = "PriorRequestNotComplete"
	}
	s.calls = append(s.calls, Call{Time: now, API: api, Action: action, Error: code, RateLimited: limited, Sent: sent})
	return code
}

func (s *Server) newID(prefix string) string {
	s.nextID++
	return fmt.Sprintf("%s%013d", prefix, s.nextID)
}

type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	NS        string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, ns string, status int, code, msg string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, status, errorResponse{NS: ns, Type: typ, Code: code, Message: msg, RequestID: "fake-" + strconv.FormatInt(time.Now().UnixNano(), 36)})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", "fake")
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	w.Write(b)
}

// ---- Elastic Load Balancing v2 (awsquery) ----

// Rule is one listener rule as the fake keeps it.
type Rule struct {
	Arn      string
	Priority string
	Actions  []Action
}

// Action is one rule action; only forward actions carry target groups.
type Action struct {
	Type         string
	Order        int
	TargetGroups []WeightedGroup
}

// WeightedGroup is one target group of a forward action with its weight.
type WeightedGroup struct {
	Arn    string
	Weight int
}

// Target is one registered target and its health state (healthy,
// unhealthy, initial, draining, unused, unavailable).
type Target struct {
	ID    string
	Port  int
	State string
}

// AddRule stores a listener rule with one forward action over groups.
func (s *Server) AddRule(arn string, groups ...WeightedGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules[arn] = &Rule{Arn: arn, Priority: "10", Actions: []Action{{Type: "forward", Order: 1, TargetGroups: groups}}}
}

// Rule returns a copy of a stored rule.
func (s *Server) Rule(arn string) (Rule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rules[arn]
	if !ok {
		return Rule{}, false
	}
	out := *r
	out.Actions = nil
	for _, a := range r.Actions {
		a.TargetGroups = slices.Clone(a.TargetGroups)
		out.Actions = append(out.Actions, a)
	}
	return out, true
}

// SetTargets registers the targets of a target group.
func (s *Server) SetTargets(groupArn string, targets ...Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.targets[groupArn] = slices.Clone(targets)
}

type xmlWeightedGroup struct {
	Arn    string `xml:"TargetGroupArn"`
	Weight int    `xml:"Weight"`
}

type xmlAction struct {
	Type           string             `xml:"Type"`
	Order          int                `xml:"Order,omitempty"`
	TargetGroupArn string             `xml:"TargetGroupArn,omitempty"`
	TargetGroups   []xmlWeightedGroup `xml:"ForwardConfig>TargetGroups>member"`
	Stickiness     bool               `xml:"ForwardConfig>TargetGroupStickinessConfig>Enabled"`
}

type xmlRule struct {
	Arn       string      `xml:"RuleArn"`
	Priority  string      `xml:"Priority"`
	IsDefault bool        `xml:"IsDefault"`
	Actions   []xmlAction `xml:"Actions>member"`
}

func (r *Rule) toXML() xmlRule {
	x := xmlRule{Arn: r.Arn, Priority: r.Priority}
	for _, a := range r.Actions {
		xa := xmlAction{Type: a.Type, Order: a.Order}
		for _, g := range a.TargetGroups {
			xa.TargetGroups = append(xa.TargetGroups, xmlWeightedGroup(g))
		}
		if len(a.TargetGroups) == 1 {
			xa.TargetGroupArn = a.TargetGroups[0].Arn
		}
		x.Actions = append(x.Actions, xa)
	}
	return x
}

type responseMetadata struct {
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type describeRulesResponse struct {
	XMLName xml.Name  `xml:"DescribeRulesResponse"`
	NS      string    `xml:"xmlns,attr"`
	Rules   []xmlRule `xml:"DescribeRulesResult>Rules>member"`
	responseMetadata
}

type modifyRuleResponse struct {
	XMLName xml.Name  `xml:"ModifyRuleResponse"`
	NS      string    `xml:"xmlns,attr"`
	Rules   []xmlRule `xml:"ModifyRuleResult>Rules>member"`
	responseMetadata
}

type xmlTargetHealth struct {
	ID     string `xml:"Target>Id"`
	Port   int    `xml:"Target>Port"`
	State  string `xml:"TargetHealth>State"`
	Reason string `xml:"TargetHealth>Reason,omitempty"`
}

type describeTargetHealthResponse struct {
	XMLName xml.Name          `xml:"DescribeTargetHealthResponse"`
	NS      string            `xml:"xmlns,attr"`
	Targets []xmlTargetHealth `xml:"DescribeTargetHealthResult>TargetHealthDescriptions>member"`
	responseMetadata
}

func (s *Server) serveELB(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, elbNS, http.StatusBadRequest, "InvalidAction", "awsquery requests are POSTs")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, elbNS, http.StatusBadRequest, "MalformedQueryString", err.Error())
		return
	}
	f := r.PostForm
	action := f.Get("Action")
	if v := f.Get("Version"); v != "2015-12-01" {
		writeError(w, elbNS, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("version %q: want 2015-12-01", v))
		return
	}
	if code := s.admit(r, ELBv2, action, false); code != "" {
		writeError(w, elbNS, http.StatusBadRequest, code, "Rate exceeded")
		return
	}
	md := responseMetadata{RequestID: "fake"}
	switch action {
	case "DescribeRules":
		var arns []string
		for i := 1; f.Has("RuleArns.member." + strconv.Itoa(i)); i++ {
			arns = append(arns, f.Get("RuleArns.member."+strconv.Itoa(i)))
		}
		if len(arns) == 0 {
			writeError(w, elbNS, http.StatusBadRequest, "ValidationError", "RuleArns or ListenerArn is required (the fake supports RuleArns)")
			return
		}
		resp := describeRulesResponse{NS: elbNS, responseMetadata: md}
		s.mu.Lock()
		for _, a := range arns {
			rule, ok := s.rules[a]
			if !ok {
				s.mu.Unlock()
				writeError(w, elbNS, http.StatusBadRequest, "RuleNotFound", "One or more rules not found: "+a)
				return
			}
			resp.Rules = append(resp.Rules, rule.toXML())
		}
		s.mu.Unlock()
		writeXML(w, http.StatusOK, resp)
	case "ModifyRule":
		arn := f.Get("RuleArn")
		actions, err := parseActions(f, "Actions")
		if err != nil {
			writeError(w, elbNS, http.StatusBadRequest, "ValidationError", err.Error())
			return
		}
		s.mu.Lock()
		rule, ok := s.rules[arn]
		if !ok {
			s.mu.Unlock()
			writeError(w, elbNS, http.StatusBadRequest, "RuleNotFound", "One or more rules not found: "+arn)
			return
		}
		if actions != nil {
			rule.Actions = actions
		}
		x := rule.toXML()
		s.mu.Unlock()
		writeXML(w, http.StatusOK, modifyRuleResponse{NS: elbNS, Rules: []xmlRule{x}, responseMetadata: md})
	case "DescribeTargetHealth":
		arn := f.Get("TargetGroupArn")
		s.mu.Lock()
		ts, ok := s.targets[arn]
		s.mu.Unlock()
		if !ok {
			writeError(w, elbNS, http.StatusBadRequest, "TargetGroupNotFound", "One or more target groups not found: "+arn)
			return
		}
		resp := describeTargetHealthResponse{NS: elbNS, responseMetadata: md}
		for _, t := range ts {
			resp.Targets = append(resp.Targets, xmlTargetHealth{ID: t.ID, Port: t.Port, State: t.State})
		}
		writeXML(w, http.StatusOK, resp)
	default:
		writeError(w, elbNS, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("action %q is not supported by the fake", action))
	}
}

// parseActions reads prefix.member.N.* form fields as AWS does; nil when
// there are none.
func parseActions(f url.Values, prefix string) ([]Action, error) {
	var out []Action
	for i := 1; ; i++ {
		p := fmt.Sprintf("%s.member.%d.", prefix, i)
		typ := f.Get(p + "Type")
		if typ == "" {
			if i == 1 && len(f[p+"Order"]) > 0 {
				return nil, fmt.Errorf("%sType is required", p)
			}
			return out, nil
		}
		a := Action{Type: typ}
		if o := f.Get(p + "Order"); o != "" {
			n, err := strconv.Atoi(o)
			if err != nil || n < 1 || n > 50000 {
				return nil, fmt.Errorf("%sOrder %q: want 1..50000", p, o)
			}
			a.Order = n
		}
		if typ == "forward" {
			for j := 1; ; j++ {
				q := fmt.Sprintf("%sForwardConfig.TargetGroups.member.%d.", p, j)
				arn := f.Get(q + "TargetGroupArn")
				if arn == "" {
					break
				}
				g := WeightedGroup{Arn: arn, Weight: 1}
				if ws := f.Get(q + "Weight"); ws != "" {
					n, err := strconv.Atoi(ws)
					if err != nil || n < 0 || n > 999 {
						return nil, fmt.Errorf("%sWeight %q: want 0..999", q, ws)
					}
					g.Weight = n
				}
				a.TargetGroups = append(a.TargetGroups, g)
			}
			if arn := f.Get(p + "TargetGroupArn"); arn != "" && len(a.TargetGroups) == 0 {
				a.TargetGroups = []WeightedGroup{{Arn: arn, Weight: 1}}
			}
			if len(a.TargetGroups) == 0 {
				return nil, fmt.Errorf("%s: a forward action needs a target group", p)
			}
		}
		out = append(out, a)
	}
}

// ---- Route 53 (REST-XML) ----

// RecordSet is one Route 53 record set as the fake keeps it.
type RecordSet struct {
	Name          string
	Type          string
	SetIdentifier string
	Weight        *int64
	TTL           *int64
	Values        []string
	AliasDNSName  string
	AliasZoneID   string
}

type recordKey struct{ name, typ, id string }

func (r *RecordSet) key() recordKey {
	return recordKey{strings.ToLower(canonicalName(r.Name)), r.Type, r.SetIdentifier}
}

func canonicalName(n string) string {
	if !strings.HasSuffix(n, ".") {
		return n + "."
	}
	return n
}

// AddRecord stores a record set in a hosted zone (created if needed).
func (s *Server) AddRecord(zone string, rs RecordSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zone]
	if z == nil {
		z = map[recordKey]*RecordSet{}
		s.zones[zone] = z
	}
	rs.Name = canonicalName(rs.Name)
	z[rs.key()] = &rs
}

// Record returns a copy of a stored record set.
func (s *Server) Record(zone, name, typ, setID string) (RecordSet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.zones[zone][recordKey{strings.ToLower(canonicalName(name)), typ, setID}]
	if !ok {
		return RecordSet{}, false
	}
	return *rs, true
}

// XMLRecordSet is Route 53's ResourceRecordSet element.
type XMLRecordSet struct {
	Name          string   `xml:"Name"`
	Type          string   `xml:"Type"`
	SetIdentifier string   `xml:"SetIdentifier,omitempty"`
	Weight        *int64   `xml:"Weight,omitempty"`
	TTL           *int64   `xml:"TTL,omitempty"`
	Values        []string `xml:"ResourceRecords>ResourceRecord>Value,omitempty"`
	Alias         *struct {
		HostedZoneID         string `xml:"HostedZoneId"`
		DNSName              string `xml:"DNSName"`
		EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
	} `xml:"AliasTarget,omitempty"`
}

// ChangeRequest is the body of ChangeResourceRecordSets.
type ChangeRequest struct {
	XMLName xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	Comment string   `xml:"ChangeBatch>Comment"`
	Changes []struct {
		Action    string       `xml:"Action"`
		RecordSet XMLRecordSet `xml:"ResourceRecordSet"`
	} `xml:"ChangeBatch>Changes>Change"`
}

// ParseChangeRequest decodes and checks a ChangeResourceRecordSets body.
func ParseChangeRequest(r io.Reader) (*ChangeRequest, error) {
	var req ChangeRequest
	if err := xml.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&req); err != nil {
		return nil, fmt.Errorf("change request body: %w", err)
	}
	if len(req.Changes) == 0 {
		return nil, fmt.Errorf("change batch: no Change elements")
	}
	for i, c := range req.Changes {
		rs := c.RecordSet
		switch {
		case c.Action != "CREATE" && c.Action != "DELETE" && c.Action != "UPSERT":
			return nil, fmt.Errorf("change %d: Action %q: want CREATE, DELETE or UPSERT", i+1, c.Action)
		case rs.Name == "" || rs.Type == "":
			return nil, fmt.Errorf("change %d: ResourceRecordSet needs Name and Type", i+1)
		case rs.Weight != nil && (*rs.Weight < 0 || *rs.Weight > 255):
			return nil, fmt.Errorf("change %d: Weight %d: want 0..255", i+1, *rs.Weight)
		case rs.Weight != nil && rs.SetIdentifier == "":
			return nil, fmt.Errorf("change %d: a weighted record needs a SetIdentifier", i+1)
		case rs.Alias == nil && len(rs.Values) == 0:
			return nil, fmt.Errorf("change %d: ResourceRecords or AliasTarget is required", i+1)
		case rs.Alias == nil && rs.TTL == nil:
			return nil, fmt.Errorf("change %d: TTL is required for a non-alias record", i+1)
		}
	}
	return &req, nil
}

type changeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
}

type changeResponse struct {
	XMLName xml.Name   `xml:"ChangeResourceRecordSetsResponse"`
	NS      string     `xml:"xmlns,attr"`
	Info    changeInfo `xml:"ChangeInfo"`
}

type getChangeResponse struct {
	XMLName xml.Name   `xml:"GetChangeResponse"`
	NS      string     `xml:"xmlns,attr"`
	Info    changeInfo `xml:"ChangeInfo"`
}

type listResponse struct {
	XMLName   xml.Name       `xml:"ListResourceRecordSetsResponse"`
	NS        string         `xml:"xmlns,attr"`
	Sets      []XMLRecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	Truncated bool           `xml:"IsTruncated"`
	NextName  string         `xml:"NextRecordName,omitempty"`
	NextType  string         `xml:"NextRecordType,omitempty"`
	NextID    string         `xml:"NextRecordIdentifier,omitempty"`
	MaxItems  string         `xml:"MaxItems"`
}

func (s *Server) serveRoute53(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/2013-04-01/")
	var action, zone, change string
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(rest, "hostedzone/") && strings.HasSuffix(strings.TrimSuffix(rest, "/"), "/rrset"):
		action, zone = "ChangeResourceRecordSets", strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(rest, "/"), "hostedzone/"), "/rrset")
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "hostedzone/") && strings.HasSuffix(rest, "/rrset"):
		action, zone = "ListResourceRecordSets", strings.TrimSuffix(strings.TrimPrefix(rest, "hostedzone/"), "/rrset")
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "change/"):
		action, change = "GetChange", strings.TrimPrefix(rest, "change/")
	default:
		writeError(w, r53NS, http.StatusNotFound, "InvalidAction", r.Method+" "+r.URL.Path+" is not supported by the fake")
		return
	}
	if code := s.admit(r, Route53, action, action == "ChangeResourceRecordSets"); code != "" {
		writeError(w, r53NS, http.StatusBadRequest, code, "Rate exceeded")
		return
	}
	switch action {
	case "ChangeResourceRecordSets":
		req, err := ParseChangeRequest(r.Body)
		if err != nil {
			writeError(w, r53NS, http.StatusBadRequest, "InvalidInput", err.Error())
			return
		}
		s.mu.Lock()
		z, ok := s.zones[zone]
		if !ok {
			s.mu.Unlock()
			writeError(w, r53NS, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+zone)
			return
		}
		// A batch is all or nothing: check every change first.
		for i, c := range req.Changes {
			rs := fromXML(c.RecordSet)
			_, exists := z[rs.key()]
			if c.Action == "CREATE" && exists || c.Action == "DELETE" && !exists {
				s.mu.Unlock()
				writeError(w, r53NS, http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("Change %d: %s of %s %s %q: record %s", i+1, c.Action, rs.Name, rs.Type, rs.SetIdentifier, map[bool]string{true: "exists", false: "does not exist"}[exists]))
				return
			}
		}
		for _, c := range req.Changes {
			rs := fromXML(c.RecordSet)
			if c.Action == "DELETE" {
				delete(z, rs.key())
			} else {
				z[rs.key()] = rs
			}
		}
		id := s.newID("C")
		now := time.Now().UTC()
		s.changes[id] = now
		s.mu.Unlock()
		writeXML(w, http.StatusOK, changeResponse{NS: r53NS, Info: changeInfo{ID: "/change/" + id, Status: "PENDING", SubmittedAt: now.Format(time.RFC3339)}})
	case "GetChange":
		s.mu.Lock()
		at, ok := s.changes[change]
		s.mu.Unlock()
		if !ok {
			writeError(w, r53NS, http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist: "+change)
			return
		}
		status := "PENDING"
		if time.Since(at) >= s.opts.InsyncAfter {
			status = "INSYNC"
		}
		writeXML(w, http.StatusOK, getChangeResponse{NS: r53NS, Info: changeInfo{ID: "/change/" + change, Status: status, SubmittedAt: at.Format(time.RFC3339)}})
	case "ListResourceRecordSets":
		q := r.URL.Query()
		maxItems := 300
		if m := q.Get("maxitems"); m != "" {
			n, err := strconv.Atoi(m)
			if err != nil || n < 1 {
				writeError(w, r53NS, http.StatusBadRequest, "InvalidInput", "maxitems "+m)
				return
			}
			maxItems = min(n, 300)
		}
		start := recordKey{strings.ToLower(canonicalName(q.Get("name"))), q.Get("type"), q.Get("identifier")}
		if q.Get("name") == "" {
			start = recordKey{}
		}
		s.mu.Lock()
		z, ok := s.zones[zone]
		var keys []recordKey
		for k := range z {
			if compareKeys(k, start) >= 0 {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, compareKeys)
		resp := listResponse{NS: r53NS, MaxItems: strconv.Itoa(maxItems)}
		for i, k := range keys {
			if i == maxItems {
				resp.Truncated = true
				resp.NextName, resp.NextType, resp.NextID = z[k].Name, k.typ, k.id
				break
			}
			resp.Sets = append(resp.Sets, toXML(z[k]))
		}
		s.mu.Unlock()
		if !ok {
			writeError(w, r53NS, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+zone)
			return
		}
		writeXML(w, http.StatusOK, resp)
	}
}

func compareKeys(a, b recordKey) int {
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	if c := strings.Compare(a.typ, b.typ); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func fromXML(x XMLRecordSet) *RecordSet {
	rs := &RecordSet{Name: canonicalName(x.Name), Type: x.Type, SetIdentifier: x.SetIdentifier, Weight: x.Weight, TTL: x.TTL, Values: x.Values}
	if x.Alias != nil {
		rs.AliasDNSName, rs.AliasZoneID = x.Alias.DNSName, x.Alias.HostedZoneID
	}
	return rs
}

func toXML(rs *RecordSet) XMLRecordSet {
	x := XMLRecordSet{Name: rs.Name, Type: rs.Type, SetIdentifier: rs.SetIdentifier, Weight: rs.Weight, TTL: rs.TTL, Values: rs.Values}
	if rs.AliasDNSName != "" {
		x.Alias = &struct {
			HostedZoneID         string `xml:"HostedZoneId"`
			DNSName              string `xml:"DNSName"`
			EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
		}{HostedZoneID: rs.AliasZoneID, DNSName: rs.AliasDNSName}
	}
	return x
}
