package userstate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/owlstack/owl/examples/courses"
	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/librelingo"
	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/coursecache"
	"github.com/owlstack/owl/internal/coursestore"
	"github.com/owlstack/owl/internal/memory"
	"github.com/owlstack/owl/internal/session"
)

type oneCourse map[string]*coursecache.Entry

func (c oneCourse) Get(id string) (*coursecache.Entry, bool) { e, ok := c[id]; return e, ok }

func demoCourse(t *testing.T) *snapshot.Course {
	t.Helper()
	sub, err := fs.Sub(courses.Demo, courses.DemoID)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := librelingo.LoadFS(sub, courses.DemoID, librelingo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := snapshot.Compile(snapshot.Header{CourseID: courses.DemoID, CourseVersion: "1", CompilerVersion: "test"}, c, course.Derive(c))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := snapshot.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// frontServer runs a session generator and an API front in front of it,
// over HTTP on 127.0.0.1, with a fresh SQLite store.
func frontServer(t *testing.T) (front *httptest.Server, store *Store, calls *[]session.APIRequest) {
	t.Helper()
	c := demoCourse(t)
	gen := session.New(memory.NewFSRS(memory.FSRS6Defaults))
	svc := session.NewService(gen, oneCourse{courses.DemoID: {Course: c, Manifest: coursestore.Manifest{Course: courses.DemoID, Version: 3}}},
		time.Now, 0, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	svc.Routes(mux)
	var seen []session.APIRequest
	sessions := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req session.APIRequest
		if json.Unmarshal(body, &req) == nil {
			seen = append(seen, req)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(sessions.Close)

	store, err := Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := NewFront(store, &SessionClient{URL: sessions.URL, HTTP: sessions.Client()}, memory.NewFSRS(memory.FSRS6Defaults),
		func() time.Time { return t0 }, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	fmux := http.NewServeMux()
	f.Routes(fmux)
	front = httptest.NewServer(fmux)
	t.Cleanup(front.Close)
	return front, store, &seen
}

func do(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// TestFrontSessionAndResults walks one learner through the API: a session
// for a new learner, its results applied (twice, as a retry), then a
// session with the new state injected.
func TestFrontSessionAndResults(t *testing.T) {
	front, _, calls := frontServer(t)
	c := demoCourse(t)
	url := front.URL + "/v1/users/ana"

	status, body := do(t, "PUT", url+"/settings", `{"listening_off":true,"length":6}`)
	if status != 200 {
		t.Fatalf("settings: %d %s", status, body)
	}
	status, body = do(t, "GET", url+"/session?course=owl-demo&skill=101&seed=1&now=2026-05-04T10:00:00Z", "")
	if status != 200 {
		t.Fatalf("session: %d %s", status, body)
	}
	var s session.Session
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if s.CourseVersion != "3" || len(s.Challenges) != 6 {
		t.Fatalf("session: version %s, %d challenges; want version 3 and the learner's length 6", s.CourseVersion, len(s.Challenges))
	}
	for _, it := range s.Challenges {
		if it.Challenge.ChallengeType() == course.TypeListening {
			t.Errorf("listening challenge %s although the learner turned listening off", it.Challenge.Metadata().ID)
		}
	}
	if got := (*calls)[0].User; got.ID != "ana" || !got.Settings.ListeningOff || len(got.Words) != 0 {
		t.Errorf("injected user %+v, want ana's settings and no words", got)
	}

	// Grade every word the session introduced.
	sub := Submission{SessionID: s.ID, Course: s.Course}
	at := t0
	for _, it := range s.Challenges {
		m := it.Challenge.Metadata()
		if len(m.Words) == 0 {
			continue
		}
		word := demoWord(t, c, m, it.Skill)
		at = at.Add(time.Minute)
		g := memory.Good
		if len(sub.Results) == 0 {
			g = memory.Again
		}
		sub.Results = append(sub.Results, Result{ChallengeID: m.ID, At: at, Words: []WordGrade{{Word: word, Grade: g}}})
	}
	if len(sub.Results) == 0 {
		t.Fatal("the session practised no word")
	}
	data, _ := json.Marshal(sub)
	status, body = do(t, "POST", url+"/results", string(data))
	var applied Applied
	if status != 200 || json.Unmarshal(body, &applied) != nil || applied.Applied != len(sub.Results) {
		t.Fatalf("results: %d %s", status, body)
	}
	status, body = do(t, "POST", url+"/results", string(data))
	if status != 200 || json.Unmarshal(body, &applied) != nil || applied.Applied != 0 || applied.Duplicates != len(sub.Results) {
		t.Fatalf("retried results: %d %s", status, body)
	}

	status, body = do(t, "GET", url+"/state?course=owl-demo", "")
	var st State
	if status != 200 || json.Unmarshal(body, &st) != nil || len(st.User.Words) == 0 {
		t.Fatalf("state: %d %s", status, body)
	}
	status, _ = do(t, "GET", url+"/session?course=owl-demo&skill=101&seed=1&now=2026-05-06T10:00:00Z", "")
	if status != 200 {
		t.Fatalf("second session: %d", status)
	}
	injected := (*calls)[len(*calls)-1].User
	if d := len(injected.Words); d != len(st.User.Words) {
		t.Errorf("second session injected %d words, the state has %d", d, len(st.User.Words))
	}
	if now := (*calls)[len(*calls)-1].Now; now != "2026-05-06T10:00:00Z" {
		t.Errorf("now %q not passed on", now)
	}
}

// demoWord returns the main text of the first word a challenge uses.
func demoWord(t *testing.T, c *snapshot.Course, m *course.Meta, skill string) string {
	t.Helper()
	sk, ok := c.SkillByID(skill)
	if !ok {
		t.Fatalf("no skill %s", skill)
	}
	return sk.Words[m.Words[0]].Target[0]
}

func TestFrontErrors(t *testing.T) {
	front, _, _ := frontServer(t)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"no course", "GET", "/v1/users/a/session?skill=101", "", 400, "course"},
		{"bad length", "GET", "/v1/users/a/session?course=owl-demo&skill=101&length=99", "", 400, "length"},
		{"bad now", "GET", "/v1/users/a/session?course=owl-demo&skill=101&now=yesterday", "", 400, "now"},
		{"unknown course", "GET", "/v1/users/a/session?course=nope&skill=101", "", 400, "course"},
		{"unknown skill", "GET", "/v1/users/a/session?course=owl-demo&skill=999", "", 400, "skill"},
		{"bad json", "POST", "/v1/users/a/results", `{"session_id":`, 400, "body"},
		{"unknown field", "POST", "/v1/users/a/results", `{"session":"x"}`, 400, "session"},
		{"bad grade", "POST", "/v1/users/a/results", `{"session_id":"s","course":"c","results":[{"challenge_id":"x","at":"2026-05-04T10:00:00Z","words":[{"word":"hola","grade":0}]}]}`, 400, "results[0].words[0].grade"},
		{"bad time", "POST", "/v1/users/a/results", `{"session_id":"s","course":"c","results":[{"challenge_id":"x","at":"monday","words":[{"word":"hola","grade":3}]}]}`, 400, "body"},
		{"bad settings", "PUT", "/v1/users/a/settings", `{"length":-1}`, 400, "length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, tc.method, front.URL+tc.path, tc.body)
			var p session.Problem
			if status != tc.status || json.Unmarshal(body, &p) != nil || p.Field != tc.field {
				t.Errorf("%d %s; want %d naming field %q", status, body, tc.status, tc.field)
			}
		})
	}
}

func TestFrontGeneratorDown(t *testing.T) {
	store, err := Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	f := NewFront(store, &SessionClient{URL: dead.URL, HTTP: &http.Client{Timeout: time.Second}}, memory.NewFSRS(memory.FSRS6Defaults),
		time.Now, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	mux := http.NewServeMux()
	f.Routes(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/users/a/session?course=owl-demo&skill=101", nil))
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "session generator") {
		t.Errorf("%d %s; want 502", rec.Code, rec.Body)
	}
}

// TestOpenAPIMatchesHandlers checks the document's schemas against the Go
// types the handlers read and write, and its paths against the routes.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	rec := httptest.NewRecorder()
	ServeOpenAPI(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for schema, typ := range map[string]reflect.Type{
		"Submission": reflect.TypeFor[Submission](),
		"Result":     reflect.TypeFor[Result](),
		"WordGrade":  reflect.TypeFor[WordGrade](),
		"Applied":    reflect.TypeFor[Applied](),
		"State":      reflect.TypeFor[State](),
		"User":       reflect.TypeFor[session.User](),
		"Settings":   reflect.TypeFor[session.Settings](),
		"WordState":  reflect.TypeFor[session.WordState](),
		"Problem":    reflect.TypeFor[session.Problem](),
	} {
		var got []string
		for k := range doc.Components.Schemas[schema].Properties {
			got = append(got, k)
		}
		sort.Strings(got)
		if d := cmp.Diff(jsonFields(typ), got); d != "" {
			t.Errorf("schema %s differs from %v (-Go +OpenAPI):\n%s", schema, typ, d)
		}
	}
	front, _, _ := frontServer(t)
	for path, ops := range doc.Paths {
		for method := range ops {
			p := strings.ReplaceAll(path, "{id}", "a")
			status, _ := do(t, strings.ToUpper(method), front.URL+p, "{}")
			if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
				t.Errorf("%s %s documented but answers %d", method, path, status)
			}
		}
	}
	if status, _ := do(t, "DELETE", front.URL+"/v1/users/a/settings", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE settings: %d, want 405 (not documented)", status)
	}
}

// jsonFields lists the JSON names of a struct's fields, embedded structs
// flattened.
func jsonFields(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func FuzzDecodeSubmission(f *testing.F) {
	f.Add([]byte(`{"session_id":"s","course":"c","results":[{"challenge_id":"x","at":"2026-05-04T10:00:00Z","words":[{"word":"hola","grade":3}]}]}`))
	f.Add([]byte(`{"session_id":"s","course":"c","results":[]}`))
	f.Add([]byte(`{"session_id":1}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		req := httptest.NewRequest("POST", "/v1/users/a/results", bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		var sub Submission
		err := decodeJSON(httptest.NewRecorder(), req, &sub)
		if err == nil {
			err = sub.Validate()
			if err == nil && (sub.SessionID == "" || len(sub.Results) == 0) {
				t.Fatalf("accepted an invalid submission %+v", sub)
			}
		}
		if err != nil {
			var fe *FieldError
			var se *statusError
			if !errors.As(err, &fe) && !errors.As(err, &se) {
				t.Fatalf("error %T %v names no field", err, err)
			}
		}
	})
}
