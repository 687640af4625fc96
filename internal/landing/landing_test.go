package landing

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/owlstack/owl/internal/httpserver"
)

func page() *Page {
	h := &httpserver.Health{}
	h.Add("store", func(context.Context) error { return errors.New("bucket <unreachable>") })
	h.Add("api", func(context.Context) error { return nil })
	return &Page{Title: "owl", Version: "v0", Health: h, Entries: []Entry{
		{Name: "api", Description: "serves the API", Link: "/api/"},
		{Name: "store", Description: "course store"},
		{Name: "worker", Description: "background work"},
	}}
}

func TestStatuses(t *testing.T) {
	got := page().Statuses(context.Background())
	want := []Status{
		{Entry: Entry{Name: "api", Description: "serves the API", Link: "/api/"}, Health: "ready"},
		{Entry: Entry{Name: "store", Description: "course store"}, Health: "not ready", Error: "bucket <unreachable>"},
		{Entry: Entry{Name: "worker", Description: "background work"}, Health: "running"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
}

func TestServeHTMLEscapesAndLinks(t *testing.T) {
	rec := httptest.NewRecorder()
	page().ServeHTML(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`<a href="/api/">api</a>`,
		`bucket &lt;unreachable&gt;`,
		`class="health not-ready"`,
		`data-component="worker"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestServeJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	page().ServeJSON(rec, httptest.NewRequest("GET", "/api/v1/components", nil))
	var got struct {
		Version    string
		Components []Status
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != "v0" || len(got.Components) != 3 || got.Components[1].Health != "not ready" {
		t.Errorf("json = %s", rec.Body)
	}
}

func TestServeFavicon(t *testing.T) {
	w := httptest.NewRecorder()
	ServeFavicon(w, httptest.NewRequest("GET", "/favicon.ico", nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(w.Body.String(), "<svg ") {
		t.Fatalf("status %d, type %q, body %.40q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
}
