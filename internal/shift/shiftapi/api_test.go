package shiftapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/shiftapi"
	"github.com/owlstack/owl/internal/shift/shiftstore"
)

const spec = "name: checkout\nfrom: {name: ecs}\nto: {name: eks}\nsteps: [10, 50, 100]\n"

func setup(t *testing.T) (*httptest.Server, *shiftstore.Store) {
	store, err := shiftstore.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	mux := http.NewServeMux()
	(&shiftapi.Server{Store: store, Token: "s3cret"}).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, store
}

func call(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPI(t *testing.T) {
	srv, store := setup(t)
	for _, tok := range []string{"", "wrong", "s3cret2", "s3cre"} {
		for _, p := range []string{"/api/v1/shifts", "/api/v1/shifts/checkout", "/shifts/"} {
			if code, _ := call(t, srv, "GET", p, tok, ""); code != http.StatusUnauthorized {
				t.Errorf("GET %s with token %q: %d, want 401", p, tok, code)
			}
		}
	}
	if code, body := call(t, srv, "POST", "/api/v1/shifts", "s3cret", "name: a\nsteps: [50, 10]\n"); code != 400 || !strings.Contains(body, "spec:2: steps.1: 10: steps must rise") {
		t.Errorf("bad spec: %d %s", code, body)
	}
	code, body := call(t, srv, "POST", "/api/v1/shifts", "s3cret", spec)
	if code != http.StatusCreated {
		t.Fatalf("start: %d %s", code, body)
	}
	if code, _ := call(t, srv, "POST", "/api/v1/shifts", "s3cret", spec); code != http.StatusConflict {
		t.Errorf("start again: %d, want 409", code)
	}
	code, body = call(t, srv, "GET", "/api/v1/shifts", "s3cret", "")
	var list shiftapi.List
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Shifts) != 1 {
		t.Fatalf("list: %d %s", code, body)
	}
	if st := list.Shifts[0]; st.Name != "checkout" || st.State != shift.Pending || st.From != "ecs" || st.To != "eks" || st.Steps != 3 || st.Step != 0 || st.DataPlane != "proxy" {
		t.Errorf("status %+v", st)
	}
	// The documented keys of the status JSON.
	for _, k := range []string{`"name"`, `"state"`, `"from"`, `"to"`, `"data_plane"`, `"step"`, `"steps"`, `"percent"`, `"steps_percent"`, `"readback_mismatches"`, `"created_at"`, `"updated_at"`} {
		if !strings.Contains(body, k) {
			t.Errorf("status JSON lacks %s: %s", k, body)
		}
	}
	if code, body := call(t, srv, "POST", "/api/v1/shifts/checkout/pause?by=ana", "s3cret", ""); code != http.StatusAccepted || !strings.Contains(body, `"command": "pause"`) {
		t.Errorf("pause: %d %s", code, body)
	}
	if code, _ := call(t, srv, "POST", "/api/v1/shifts/checkout/explode", "s3cret", ""); code != 404 {
		t.Errorf("unknown command: %d", code)
	}
	if code, _ := call(t, srv, "POST", "/api/v1/shifts/nope/pause", "s3cret", ""); code != 404 {
		t.Errorf("unknown shift: %d", code)
	}
	if code, _ := call(t, srv, "GET", "/api/v1/shifts/nope", "s3cret", ""); code != 404 {
		t.Errorf("unknown shift: %d", code)
	}

	// A controller's analysis shows on the page with per-side metrics.
	sh, _ := store.Get(t.Context(), "checkout")
	now := time.Now()
	l, err := store.Acquire(t.Context(), "checkout", "c", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	sh.State, sh.Step, sh.Split, sh.UpdatedAt = shift.Progressing, 0, shift.Split{ToBP: 1000}, now
	sh.Last = &shift.Analysis{At: now, Split: sh.Split, Verdict: "pass", Reason: "fine", ObservedBP: 987,
		From: shift.SideMetrics{Requests: 9013, Errors: 45, ErrorRate: 45.0 / 9013, LatencyP50: 0.0121, LatencyP99: 0.0873},
		To:   shift.SideMetrics{Requests: 987, Errors: 3, ErrorRate: 3.0 / 987, LatencyP50: 0.0134, LatencyP99: 0.0912}}
	if err := store.Save(t.Context(), l, sh, []shift.Event{{At: now, Kind: shift.EventTransition, State: shift.Progressing, Split: sh.Split, Reason: "step 1 verified"}}); err != nil {
		t.Fatal(err)
	}
	code, page := call(t, srv, "GET", "/shifts/", "s3cret", "")
	for _, want := range []string{"checkout", "ecs 90% · eks 10%", "9013", "987", "0.50%", "13.4 ms", "91.2 ms", "step 1 verified", "pause requested by ana"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if code != 200 {
		t.Errorf("page: %d", code)
	}
	code, body = call(t, srv, "GET", "/api/v1/shifts/checkout/history?limit=2", "s3cret", "")
	var h shiftapi.History
	if err := json.Unmarshal([]byte(body), &h); code != 200 || err != nil || len(h.Events) != 2 {
		t.Errorf("history: %d %s", code, body)
	}
}
