package w3c

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/owlstack/owl/internal/tracectx"
)

// These tests check, against the running service over real HTTP, every
// rule the W3C trace-context test suite (test/test.py, SPEC_LEVEL=2,
// STRICT_LEVEL=2) checks, in the suite's terms: the harness sends headers,
// the service calls back, and the callback's traceparent and tracestate are
// examined.

const tid = "12345678901234567890123456789012"

var tpFormat = regexp.MustCompile(`^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

type harness struct {
	t       *testing.T
	service string // host:port
	cb      *httptest.Server
	mu      sync.Mutex
	got     map[string]http.Header
}

func newHarness(t *testing.T) *harness {
	tr, err := tracectx.New(tracectx.Options{Service: "w3c-service", HashKey: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	svc := httptest.NewServer(tr.Handler(Handler(tr.Client(0))))
	t.Cleanup(svc.Close)
	h := &harness{t: t, service: strings.TrimPrefix(svc.URL, "http://"), got: map[string]http.Header{}}
	h.cb = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.got[r.URL.Path] = r.Header.Clone()
		h.mu.Unlock()
	}))
	t.Cleanup(h.cb.Close)
	return h
}

// request sends headers exactly as given (names, case, repeats,
// whitespace) and returns the headers of each of count callbacks.
func (h *harness) request(headers [][2]string, count int) []http.Header {
	h.t.Helper()
	h.mu.Lock()
	h.got = map[string]http.Header{}
	h.mu.Unlock()
	var cases []Case
	for i := range count {
		cases = append(cases, Case{URL: fmt.Sprintf("%s/%d", h.cb.URL, i), Arguments: json.RawMessage("[]")})
	}
	body, _ := json.Marshal(cases)
	conn, err := net.Dial("tcp", h.service)
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "POST /test HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n", h.service, len(body))
	for _, kv := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", kv[0], kv[1])
	}
	b.WriteString("\r\n")
	b.Write(body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		h.t.Fatalf("service answered %d", resp.StatusCode)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []http.Header
	for i := range count {
		hd, ok := h.got[fmt.Sprintf("/%d", i)]
		if !ok {
			h.t.Fatalf("the service made no callback %d", i)
		}
		out = append(out, hd)
	}
	return out
}

type ctx struct {
	traceID, parentID, flags string
	state                    map[string]string
	stateLen                 int
	stateStr                 string
}

// single makes one request and parses the callback as the suite does.
func (h *harness) single(headers ...[2]string) ctx {
	h.t.Helper()
	hd := h.request(headers, 1)[0]
	return parse(h.t, hd)
}

func parse(t *testing.T, hd http.Header) ctx {
	t.Helper()
	tps := hd.Values("Traceparent")
	if len(tps) != 1 {
		t.Fatalf("want exactly one traceparent, got %q", tps)
	}
	m := tpFormat.FindStringSubmatch(tps[0])
	if m == nil || m[1] != "00" {
		t.Fatalf("traceparent %q is not a valid version 00 header", tps[0])
	}
	c := ctx{traceID: m[2], parentID: m[3], flags: m[4], state: map[string]string{}}
	var parts []string
	for _, v := range hd.Values("Tracestate") {
		for _, mem := range regexp.MustCompile(`[ \t]*,[ \t]*`).Split(v, -1) {
			if mem == "" {
				continue
			}
			k, val, ok := strings.Cut(mem, "=")
			if !ok {
				t.Fatalf("tracestate member %q has no '='", mem)
			}
			if _, dup := c.state[k]; !dup {
				c.state[k] = val
				parts = append(parts, mem)
			}
		}
	}
	c.stateLen = len(c.state)
	c.stateStr = strings.Join(parts, ",")
	return c
}

func tp(v string) [2]string { return [2]string{"traceparent", v} }
func ts(v string) [2]string { return [2]string{"tracestate", v} }

func TestTraceparent(t *testing.T) {
	h := newHarness(t)
	valid := "00-" + tid + "-1234567890123456-01"

	t.Run("both missing", func(t *testing.T) { h.single() })

	t.Run("traceparent included, tracestate missing", func(t *testing.T) {
		c := h.single(tp(valid))
		if c.traceID != tid || c.parentID == "1234567890123456" {
			t.Errorf("trace %s parent %s: want same trace, new parent", c.traceID, c.parentID)
		}
	})

	// Every one of these must restart the trace.
	restart := map[string][][2]string{
		"duplicated":                  {tp("00-12345678901234567890123456789011-1234567890123456-01"), tp(valid)},
		"wrong name trace-parent":     {{"trace-parent", valid}},
		"wrong name trace.parent":     {{"trace.parent", valid}},
		"version 00 trailing dot":     {tp(valid + ".")},
		"version 00 trailing fields":  {tp(valid + "-what-the-future-will-be-like")},
		"version cc dot":              {tp("cc-" + tid + "-1234567890123456-01.what-the-future-will-be-like")},
		"version ff":                  {tp("ff-" + tid + "-1234567890123456-01")},
		"version .0":                  {tp(".0-" + tid + "-1234567890123456-01")},
		"version 0.":                  {tp("0.-" + tid + "-1234567890123456-01")},
		"version 000":                 {tp("000-" + tid + "-1234567890123456-01")},
		"version 0000":                {tp("0000-" + tid + "-1234567890123456-01")},
		"version 0":                   {tp("0-" + tid + "-1234567890123456-01")},
		"trace id too long":           {tp("00-123456789012345678901234567890123-1234567890123456-01")},
		"parent id all zero":          {tp("00-" + tid + "-0000000000000000-01")},
		"parent id .":                 {tp("00-" + tid + "-.234567890123456-01")},
		"parent id trailing .":        {tp("00-" + tid + "-123456789012345.-01")},
		"parent id too long":          {tp("00-" + tid + "-12345678901234567-01")},
		"parent id too short":         {tp("00-" + tid + "-123456789012345-01")},
		"flags .0":                    {tp("00-" + tid + "-1234567890123456-.0")},
		"flags 0.":                    {tp("00-" + tid + "-1234567890123456-0.")},
		"flags too long":              {tp("00-" + tid + "-1234567890123456-001")},
		"flags too short":             {tp("00-" + tid + "-1234567890123456-1")},
		"upper-case hex is not valid": {tp("00-" + strings.ToUpper("abcdef78901234567890123456789012") + "-1234567890123456-01")},
	}
	for name, headers := range restart {
		t.Run("restarts: "+name, func(t *testing.T) {
			c := h.single(headers...)
			if c.traceID == tid || c.traceID == "12345678901234567890123456789011" || c.traceID == "abcdef78901234567890123456789012" || c.traceID == "23456789012345678901234567890123" {
				t.Errorf("trace id %s was kept", c.traceID)
			}
		})
	}
	for name, bad := range map[string]string{
		"trace id all zero":      "00-00000000000000000000000000000000-1234567890123456-01",
		"trace id .":             "00-.2345678901234567890123456789012-1234567890123456-01",
		"trace id trailing .":    "00-1234567890123456789012345678901.-1234567890123456-01",
		"trace id too short":     "00-1234567890123456789012345678901-1234567890123456-01",
		"trace id too long (33)": "00-123456789012345678901234567890123-1234567890123456-01",
	} {
		t.Run("restarts: "+name, func(t *testing.T) {
			c := h.single(tp(bad))
			if strings.Contains(bad, c.traceID) || c.traceID == "00000000000000000000000000000000" {
				t.Errorf("trace id %s taken from %q", c.traceID, bad)
			}
		})
	}

	// These must continue the trace.
	keep := map[string][][2]string{
		"casing TraceParent":          {{"TraceParent", valid}},
		"casing TrAcEpArEnT":          {{"TrAcEpArEnT", valid}},
		"casing TRACEPARENT":          {{"TRACEPARENT", valid}},
		"version cc":                  {tp("cc-" + tid + "-1234567890123456-01")},
		"version cc with more fields": {tp("cc-" + tid + "-1234567890123456-01-what-the-future-will-be-like")},
		"leading space":               {tp(" " + valid)},
		"leading tab":                 {tp("\t" + valid)},
		"trailing space":              {tp(valid + " ")},
		"trailing tab":                {tp(valid + "\t")},
		"both":                        {tp("\t " + valid + " \t")},
	}
	for name, headers := range keep {
		t.Run("continues: "+name, func(t *testing.T) {
			if c := h.single(headers...); c.traceID != tid {
				t.Errorf("trace id %s, want %s", c.traceID, tid)
			}
		})
	}

	t.Run("level 2: random flag propagated unchanged, unknown flags zeroed", func(t *testing.T) {
		for in, want := range map[string]string{"00": "00", "01": "01", "02": "02", "03": "03", "ff": "03", "fd": "01"} {
			if c := h.single(tp("00-" + tid + "-1234567890123456-" + in)); c.flags != want {
				t.Errorf("flags %s forwarded as %s, want %s", in, c.flags, want)
			}
		}
	})
	t.Run("level 2: new trace ids are random and say so", func(t *testing.T) {
		c := h.single()
		if c.flags != "03" {
			t.Errorf("flags of a trace we started = %s, want 03 (sampled, random)", c.flags)
		}
	})
}

func TestTraceresponse(t *testing.T) {
	h := newHarness(t)
	resp, err := http.Post("http://"+h.service+"/test", "application/json", strings.NewReader("[]"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !tpFormat.MatchString(resp.Header.Get("Traceresponse")) {
		t.Errorf("traceresponse = %q", resp.Header.Get("Traceresponse"))
	}
	in := "00-" + tid + "-1234567890123456-01"
	req, _ := http.NewRequest("POST", "http://"+h.service+"/test", strings.NewReader("[]"))
	req.Header.Set("traceparent", in)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m := tpFormat.FindStringSubmatch(resp.Header.Get("Traceresponse"))
	if m == nil || m[2] != tid || m[3] == "1234567890123456" {
		t.Errorf("traceresponse %q: want the same trace id and this service's span", resp.Header.Get("Traceresponse"))
	}
}

func TestTracestate(t *testing.T) {
	h := newHarness(t)
	parent := tp("00-" + tid + "-1234567890123456-00")

	t.Run("included, traceparent missing: discarded", func(t *testing.T) {
		a := h.single(ts("foo=1"))
		b := h.single(ts("foo=1,bar=2"))
		if a.stateLen != b.stateLen {
			t.Errorf("tracestate kept without traceparent: %d vs %d members", a.stateLen, b.stateLen)
		}
	})
	t.Run("inherited", func(t *testing.T) {
		c := h.single(parent, ts("foo=1,bar=2"))
		if c.traceID != tid || c.state["foo"] != "1" || c.state["bar"] != "2" {
			t.Errorf("got %+v", c)
		}
	})
	for _, name := range []string{"trace-state", "trace.state"} {
		t.Run("wrong name "+name, func(t *testing.T) {
			if c := h.single(parent, [2]string{name, "foo=1"}); c.state["foo"] != "" {
				t.Errorf("%s taken as tracestate", name)
			}
		})
	}
	for _, name := range []string{"TraceState", "TrAcEsTaTe", "TRACESTATE"} {
		t.Run("casing "+name, func(t *testing.T) {
			if c := h.single(parent, [2]string{name, "foo=1"}); c.state["foo"] != "1" {
				t.Errorf("%s not inherited", name)
			}
		})
	}
	t.Run("empty header", func(t *testing.T) {
		if c := h.single(parent, ts("")); c.traceID != tid || c.stateLen != 0 {
			t.Errorf("got %+v", c)
		}
		for _, hs := range [][][2]string{{parent, ts("foo=1"), ts("")}, {parent, ts(""), ts("foo=1")}} {
			if c := h.single(hs...); c.traceID != tid || c.state["foo"] != "1" {
				t.Errorf("%v: got %+v", hs, c)
			}
		}
	})
	t.Run("multiple headers, different keys, joined in order", func(t *testing.T) {
		c := h.single(parent, ts("foo=1,bar=2"), ts("rojo=1,congo=2"), ts("baz=3"))
		if c.stateStr != "foo=1,bar=2,rojo=1,congo=2,baz=3" {
			t.Errorf("tracestate %q", c.stateStr)
		}
	})
	discard := map[string][][2]string{
		"duplicated keys foo=1,foo=1":        {ts("foo=1,foo=1")},
		"duplicated keys foo=1,foo=2":        {ts("foo=1,foo=2")},
		"duplicated keys across headers":     {ts("foo=1"), ts("foo=1")},
		"duplicated keys across headers (2)": {ts("foo=1"), ts("foo=2")},
		"key with space":                     {ts("foo =1")},
		"upper-case key":                     {ts("FOO=1")},
		"key with dot":                       {ts("foo.bar=1")},
		"vendor empty":                       {ts("foo@=1,bar=2")},
		"tenant empty":                       {ts("@foo=1,bar=2")},
		"double @":                           {ts("foo@@bar=1,bar=2")},
		"two vendors":                        {ts("foo@bar@baz=1,bar=2")},
		"key of 257":                         {ts("foo=1"), ts(strings.Repeat("z", 257) + "=1")},
		"tenant of 242":                      {ts("foo=1"), ts(strings.Repeat("t", 242) + "@v=1")},
		"vendor of 15":                       {ts("foo=1"), ts("t@" + strings.Repeat("v", 15) + "=1")},
		"value with =":                       {ts("foo=bar=baz")},
		"empty value":                        {ts("foo=,bar=3")},
		"33 members":                         members(33),
	}
	for name, hs := range discard {
		t.Run("discarded: "+name, func(t *testing.T) {
			c := h.single(append([][2]string{parent}, hs...)...)
			for _, k := range []string{"foo", "bar", "bar01", "foo ", "FOO", "foo.bar"} {
				if _, ok := c.state[k]; ok {
					t.Errorf("key %q kept from an invalid tracestate (%q)", k, c.stateStr)
				}
			}
			if c.traceID != tid {
				t.Errorf("an invalid tracestate changed the trace id")
			}
		})
	}
	t.Run("32 members kept", func(t *testing.T) {
		c := h.single(append([][2]string{parent}, members(32)...)...)
		if c.stateLen != 32 || c.state["bar01"] != "01" {
			t.Errorf("%d members: %q", c.stateLen, c.stateStr)
		}
	})
	t.Run("key length limits", func(t *testing.T) {
		for _, k := range []string{strings.Repeat("z", 256), strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14)} {
			if c := h.single(parent, ts("foo=1"), ts(k+"=1")); c.state["foo"] != "1" || c.state[k] != "1" {
				t.Errorf("key of %d characters: %q", len(k), c.stateStr)
			}
		}
	})
	t.Run("all allowed characters", func(t *testing.T) {
		key := "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
		var v strings.Builder
		for c := byte(0x20); c <= 0x7e; c++ {
			if c != ',' && c != '=' {
				v.WriteByte(c)
			}
		}
		for _, k := range []string{key, key + "@a-z0-9_-*/"} {
			if c := h.single(parent, ts(k+"="+v.String())); c.state[k] != v.String() {
				t.Errorf("key %q: %q", k, c.stateStr)
			}
		}
	})
	t.Run("optional whitespace", func(t *testing.T) {
		for _, v := range []string{"foo=1 \t , \t bar=2, \t baz=3", "foo=1\t \t,\t \tbar=2,\t \tbaz=3"} {
			c := h.single(parent, ts(v))
			if c.state["foo"] != "1" || c.state["bar"] != "2" || c.state["baz"] != "3" {
				t.Errorf("%q: %q", v, c.stateStr)
			}
		}
		for _, v := range []string{" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"} {
			if c := h.single(parent, ts(v)); c.traceID != tid || c.state["foo"] != "1" {
				t.Errorf("%q: %q", v, c.stateStr)
			}
		}
	})
}

func members(n int) [][2]string {
	var hs [][2]string
	var cur []string
	for i := 1; i <= n; i++ {
		cur = append(cur, fmt.Sprintf("bar%02d=%02d", i, i))
		if len(cur) == 10 || i == n {
			hs = append(hs, ts(strings.Join(cur, ",")))
			cur = nil
		}
	}
	return hs
}

func TestAdvanced(t *testing.T) {
	h := newHarness(t)
	check := func(headers [][2]string, wantTrace func(ids map[string]bool) string) {
		t.Helper()
		traces, parents := map[string]bool{}, map[string]bool{}
		for _, hd := range h.request(headers, 3) {
			c := parse(t, hd)
			traces[c.traceID] = true
			parents[c.parentID] = true
		}
		if len(parents) != 3 {
			t.Errorf("%d distinct parent ids for 3 callbacks, want 3", len(parents))
		}
		if msg := wantTrace(traces); msg != "" {
			t.Error(msg)
		}
	}
	t.Run("multiple requests with valid traceparent", func(t *testing.T) {
		check([][2]string{tp("00-" + tid + "-1234567890123456-01")}, func(ids map[string]bool) string {
			if len(ids) != 1 || !ids[tid] {
				return fmt.Sprintf("trace ids %v, want only %s", ids, tid)
			}
			return ""
		})
	})
	t.Run("multiple requests without traceparent", func(t *testing.T) {
		check(nil, func(map[string]bool) string { return "" })
	})
	t.Run("multiple requests with illegal traceparent", func(t *testing.T) {
		check([][2]string{tp("00-00000000000000000000000000000000-1234567890123456-01")}, func(ids map[string]bool) string {
			if ids["00000000000000000000000000000000"] {
				return "the all-zero trace id was propagated"
			}
			return ""
		})
	})
}
