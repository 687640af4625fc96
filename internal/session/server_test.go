package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/coursecache"
	"github.com/owlstack/owl/internal/coursestore"
)

type fakeCourses map[string]*coursecache.Entry

func (f fakeCourses) Get(id string) (*coursecache.Entry, bool) { e, ok := f[id]; return e, ok }

func startServer(t testing.TB, c *snapshot.Course, maxBytes int64) *httptest.Server {
	t.Helper()
	courses := fakeCourses{c.Header.CourseID: {Course: c, Manifest: coursestore.Manifest{Course: c.Header.CourseID, Version: 3}}}
	svc := NewService(newGenerator(), courses, func() time.Time { return now }, maxBytes, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	svc.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func post(t testing.TB, url, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Post(url+"/v1/sessions", contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}

func TestPostSession(t *testing.T) {
	c := demoCourse(t)
	srv := startServer(t, c, 0)
	body := `{"course":"owl-demo","skill":"102","length":6,"seed":5,"now":"2026-05-04T10:00:00Z",
		"user":{"id":"ana","settings":{"listening_off":true},
		"words":[{"word":"hola","history":[{"at":"2026-05-01T09:00:00Z","grade":3},{"at":"2026-05-02T09:00:00Z","grade":1}]}]}}`
	status, h, data := post(t, srv.URL, "application/json", body)
	if status != http.StatusOK || h.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s: %s", status, h.Get("Content-Type"), data)
	}
	var got struct {
		SessionID     string           `json:"session_id"`
		Course        string           `json:"course"`
		CourseVersion string           `json:"course_version"`
		Skill         string           `json:"skill"`
		Level         int              `json:"level"`
		Challenges    []map[string]any `json:"challenges"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.SessionID == "" || got.Course != "owl-demo" || got.CourseVersion != "3" || got.Skill != "102" || got.Level != 1 || len(got.Challenges) != 6 {
		t.Fatalf("unexpected session: %s", data)
	}
	var whys []string
	for _, ch := range got.Challenges {
		if ch["type"] == "listeningExercise" {
			t.Errorf("listening despite listening_off: %v", ch)
		}
		whys = append(whys, ch["why"].(string))
	}
	if !slices.Contains(whys, "missed 2 days ago") || !slices.Contains(whys, "new L1") {
		t.Errorf("whys %v: want the missed word and new material", whys)
	}
	// Same request, same session.
	_, _, again := post(t, srv.URL, "application/json", body)
	if !bytes.Equal(data, again) {
		t.Error("the same request gave another session")
	}
}

func TestPostSessionErrors(t *testing.T) {
	c := demoCourse(t)
	srv := startServer(t, c, 2048)
	tests := []struct {
		name, contentType, body string
		status                  int
		field                   string
	}{
		{"unknown course", "application/json", `{"course":"nope","skill":"101","user":{}}`, 400, "course"},
		{"missing course", "application/json", `{"skill":"101","user":{}}`, 400, "course"},
		{"unknown skill", "application/json", `{"course":"owl-demo","skill":"999","user":{}}`, 400, "skill"},
		{"missing skill", "application/json", `{"course":"owl-demo","user":{}}`, 400, "skill"},
		{"bad length", "application/json", `{"course":"owl-demo","skill":"101","length":99,"user":{}}`, 400, "length"},
		{"length not a number", "application/json", `{"course":"owl-demo","skill":"101","length":"ten","user":{}}`, 400, "length"},
		{"bad now", "application/json", `{"course":"owl-demo","skill":"101","now":"yesterday","user":{}}`, 400, "now"},
		{"unknown field", "application/json", `{"course":"owl-demo","skill":"101","colour":"red","user":{}}`, 400, "colour"},
		{"bad grade", "application/json", `{"course":"owl-demo","skill":"101","user":{"words":[{"word":"hola","history":[{"at":"2026-05-01T09:00:00Z","grade":9}]}]}}`, 400, "user.words[0].history[0].grade"},
		{"grade not a number", "application/json", `{"course":"owl-demo","skill":"101","user":{"words":[{"word":"hola","history":[{"at":"2026-05-01T09:00:00Z","grade":"good"}]}]}}`, 400, "user.words[0].history[0].grade"},
		{"grade not an integer", "application/json", `{"course":"owl-demo","skill":"101","user":{"words":[{"word":"a"},{"word":"hola","history":[{"at":"2026-05-01T09:00:00Z","grade":2.5}]}]}}`, 400, "user.words[1].history[0].grade"},
		{"bad review time", "application/json", `{"course":"owl-demo","skill":"101","user":{"words":[{"word":"hola","history":[{"at":"May 1st","grade":3}]}]}}`, 400, "user.words[0].history[0].at"},
		{"bad last time", "application/json", `{"course":"owl-demo","skill":"101","user":{"words":[{"word":"hola","last":"2026-02-30T09:00:00Z"}]}}`, 400, "user.words[0].last"},
		{"stability not a number", "application/json", `{"course":"owl-demo","skill":"101","user":{"words":[{"word":"hola","stability":"high"}]}}`, 400, "user.words[0].stability"},
		{"word not an object", "application/json", `{"course":"owl-demo","skill":"101","user":{"words":["hola"]}}`, 400, "user.words[0]"},
		{"unknown word field", "application/json", `{"course":"owl-demo","skill":"101","user":{"words":[{"word":"hola","colour":"red"}]}}`, 400, "user.words[0].colour"},
		{"unknown user field", "application/json", `{"course":"owl-demo","skill":"101","user":{"name":"ana"}}`, 400, "user.name"},
		{"setting not a bool", "application/json", `{"course":"owl-demo","skill":"101","user":{"settings":{"listening_off":"yes"}}}`, 400, "user.settings.listening_off"},
		{"negative seed", "application/json", `{"course":"owl-demo","skill":"101","seed":-1,"user":{}}`, 400, "seed"},
		{"words not a list", "application/json", `{"course":"owl-demo","skill":"101","user":{"words":{}}}`, 400, "user.words"},
		{"not an object", "application/json", `[1,2]`, 400, "body"},
		{"bad number", "application/json", `{"course":"owl-demo","skill":"101","length":01,"user":{}}`, 400, "body"},
		{"control character", "application/json", "{\"course\":\"owl\u0001\",\"skill\":\"101\"}", 400, "body"},
		{"not JSON", "application/json", `{"course":`, 400, "body"},
		{"empty", "application/json", ``, 400, "body"},
		{"two values", "application/json", `{"course":"owl-demo","skill":"101"} {}`, 400, "body"},
		{"too large", "application/json", `{"course":"owl-demo","skill":"101","user":{"id":"` + strings.Repeat("x", 4096) + `"}}`, 413, "body"},
		{"not JSON media type", "text/plain", `{}`, 415, "header Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, data := post(t, srv.URL, tt.contentType, tt.body)
			if status != tt.status || h.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d (%s), want %d problem+json: %s", status, h.Get("Content-Type"), tt.status, data)
			}
			var p Problem
			if err := json.Unmarshal(data, &p); err != nil {
				t.Fatal(err)
			}
			if p.Field != tt.field || p.Status != tt.status || p.Type != "about:blank" || !strings.HasPrefix(p.Detail, tt.field+": ") {
				t.Errorf("problem %+v, want field %q", p, tt.field)
			}
		})
	}
}

// jsonFields returns the JSON field names of a struct type, embedded
// structs flattened.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name != "-" && f.IsExported() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIMatchesHandlers checks the served document against the types
// the handler decodes and encodes, and its paths against the routes.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	srv := startServer(t, demoCourse(t), 0)
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	props := func(schema string) []string {
		var out []string
		for k := range doc.Components.Schemas[schema].Properties {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	for schema, typ := range map[string]reflect.Type{
		"SessionRequest": reflect.TypeFor[APIRequest](),
		"User":           reflect.TypeFor[User](),
		"Settings":       reflect.TypeFor[Settings](),
		"WordState":      reflect.TypeFor[WordState](),
		"Review":         reflect.TypeFor[Review](),
		"Session":        reflect.TypeFor[Session](),
		"Problem":        reflect.TypeFor[Problem](),
	} {
		if d := cmp.Diff(jsonFields(typ), props(schema)); d != "" {
			t.Errorf("schema %s differs from %v (-Go +OpenAPI):\n%s", schema, typ, d)
		}
	}
	// Every documented operation is served, and nothing else under /v1.
	for path, ops := range doc.Paths {
		for method := range ops {
			req, _ := http.NewRequest(strings.ToUpper(method), srv.URL+path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
				t.Errorf("%s %s documented but answers %d", method, path, resp.StatusCode)
			}
		}
	}
	resp, err = http.Get(srv.URL + "/v1/sessions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/sessions: %d, want 405 (only POST is documented)", resp.StatusCode)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"course":"owl-demo","skill":"101","length":5,"seed":1,"now":"2026-05-04T10:00:00Z","user":{"id":"a","settings":{"listening_off":true},"words":[{"word":"hola","history":[{"at":"2026-05-01T09:00:00Z","grade":3}],"stability":3.2,"difficulty":5}]}}`))
	f.Add([]byte(`{"course":"x","skill":"practice","user":{"words":[{"word":"a"},{"word":"a"}]}}`))
	f.Add([]byte(`{"course":1}`))
	f.Add([]byte(``))
	c := demoCourse(f)
	g := newGenerator()
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(bytes.NewReader(data))
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a FieldError", err, err)
			}
			return
		}
		if req.Course == "" || req.Skill == "" || req.User.Validate() != nil {
			t.Fatalf("accepted an invalid request: %+v", req)
		}
		s, err := g.Generate(c, Request{Skill: req.Skill, Length: req.Length, Seed: req.Seed, Now: now, User: req.User})
		if err == nil {
			check(t, c, Request{Skill: req.Skill, Length: req.Length, Now: now, User: req.User}, s)
		} else {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("generate: %T %v", err, err)
			}
		}
	})
}

// TestConcurrentRequests posts different learners at once: the server
// reuses request memory between requests, and no answer may show another
// request's data (run with -race too).
func TestConcurrentRequests(t *testing.T) {
	c := demoCourse(t)
	srv := startServer(t, c, 0)
	rng := rand.New(rand.NewPCG(8, 9))
	type exchange struct {
		body string
		want []byte
	}
	var xs []exchange
	for i := range 12 {
		u := randomUser(rng, c)
		u.ID = fmt.Sprint("learner-", i)
		body, err := json.Marshal(APIRequest{Course: "owl-demo", Skill: c.Skills[i%len(c.Skills)].ID, Length: 5 + i, Seed: uint64(i), Now: now.Format(time.RFC3339), User: u})
		if err != nil {
			t.Fatal(err)
		}
		status, _, want := post(t, srv.URL, "application/json", string(body))
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, want)
		}
		xs = append(xs, exchange{string(body), want})
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for k := range 30 {
				x := xs[(w*7+k)%len(xs)]
				status, _, got := post(t, srv.URL, "application/json", x.body)
				if status != http.StatusOK || !bytes.Equal(got, x.want) {
					t.Errorf("concurrent answer differs from the answer alone:\n%s\n%s", got, x.want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestDecodeAllocations keeps request decoding allocation-free per word:
// the body's strings are shared, histories share one arena.
// demoRequest is a request for a session of the demo course for a learner
// who has answered every word and phrase once.
func demoRequest(t *testing.T, skill string, length int) []byte {
	t.Helper()
	c := demoCourse(t)
	var u User
	for _, sk := range c.Skills {
		for _, text := range itemsOf(&sk) {
			if !slices.ContainsFunc(u.Words, func(w WordState) bool { return w.Word == text }) {
				u.Words = append(u.Words, WordState{Word: text, History: []Review{{At: now, Grade: 3}}})
			}
		}
	}
	body, err := json.Marshal(APIRequest{Course: "owl-demo", Skill: skill, Length: length, Now: now.Format(time.RFC3339), User: u})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestDecodeAllocations(t *testing.T) {
	body := demoRequest(t, "101", 0)
	var req APIRequest
	var reviews []Review
	var set wordSet
	allocs := testing.AllocsPerRun(20, func() {
		if err := decodeRequest(body, &req, &reviews, &set); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("%v allocations to decode a request of %d words again, want at most 2", allocs, len(req.User.Words))
	}
}

// TestDecodedNowFollowsEdits: the time decodeRequest parsed is used only
// while the request's Now is the text it was parsed from.
func TestDecodedNowFollowsEdits(t *testing.T) {
	c := demoCourse(t)
	svc := NewService(newGenerator(), fakeCourses{"owl-demo": {Course: c}}, func() time.Time { return now }, 0, slog.New(slog.DiscardHandler))
	req, err := DecodeRequest(strings.NewReader(`{"course":"owl-demo","skill":"102","length":6,"seed":5,"now":"2026-05-04T10:00:00Z",
		"user":{"words":[{"word":"hola","history":[{"at":"2026-05-02T09:00:00Z","grade":1}]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	whys := func() []string {
		s, err := svc.Generate(req)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range s.Challenges {
			out = append(out, it.WhyText())
		}
		return out
	}
	if got := whys(); !slices.Contains(got, "missed 2 days ago") {
		t.Fatalf("whys %v: want the word missed 2 days before now", got)
	}
	req.Now = "2026-05-05T10:00:00Z"
	if got := whys(); !slices.Contains(got, "missed 3 days ago") {
		t.Errorf("whys %v after moving now a day on: want the word missed 3 days ago", got)
	}
}

// TestServeAllocations: the server's work on a request, with its memory
// reused from the request before, allocates the session's id and nothing
// else, so that requests are not the ones the collector makes pay for a
// course refresh's garbage.
func TestServeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes the generator's pool drop its scratch memory at random")
	}
	c := demoCourse(t)
	courses := fakeCourses{"owl-demo": {Course: c, Manifest: coursestore.Manifest{Course: "owl-demo", Version: 1}}}
	svc := NewService(newGenerator(), courses, time.Now, 0, slog.New(slog.DiscardHandler))
	x := new(exchange)
	x.body.Write(demoRequest(t, "102", 8))
	allocs := testing.AllocsPerRun(20, func() {
		if err, encErr := svc.serve(x); err != nil || encErr != nil {
			t.Fatal(err, encErr)
		}
	})
	if len(x.sess.Challenges) != 8 {
		t.Fatalf("%d challenges, want 8", len(x.sess.Challenges))
	}
	if allocs > 1 {
		t.Errorf("%v allocations to serve a request again, want at most 1 (the session id)", allocs)
	}
}
