package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if status, _ := get(t, url+"/readyz"); status == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// checkFront walks one learner through an API front at url: a session, its
// results applied, the retry ignored, the state updated.
func checkFront(t *testing.T, url string) {
	t.Helper()
	status, body := get(t, url+"/v1/users/ana/session?course=owl-demo&skill=101&length=4&seed=1&now=2026-05-04T10:00:00Z")
	var s struct {
		ID         string `json:"session_id"`
		Challenges []struct {
			ID  string `json:"id"`
			Why string `json:"why"`
		} `json:"challenges"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &s) != nil || len(s.Challenges) != 4 {
		t.Fatalf("GET session = %d %s", status, body)
	}
	results := `{"session_id":"` + s.ID + `","course":"owl-demo","results":[{"challenge_id":"` + s.Challenges[0].ID +
		`","at":"2026-05-04T09:00:00Z","words":[{"word":"hola","grade":1}]}]}`
	for i, want := range []float64{1, 0} {
		status, out := postJSON(t, url+"/v1/users/ana/results", results)
		if status != 200 || out["applied"] != want {
			t.Fatalf("POST results #%d = %d %v; want %v applied", i+1, status, out, want)
		}
	}
	status, body = get(t, url+"/v1/users/ana/state?course=owl-demo")
	if status != 200 || !strings.Contains(body, `"word":"hola"`) || !strings.Contains(body, `"seen":1`) {
		t.Fatalf("GET state = %d %s", status, body)
	}
	// The missed word comes back in the next session, injected by the front.
	status, body = get(t, url+"/v1/users/ana/session?course=owl-demo&skill=practice&length=1&seed=1&now=2026-05-05T10:00:00Z")
	if status != 200 || !strings.Contains(body, `"why":"missed 1 day ago"`) {
		t.Fatalf("practice session = %d %s", status, body)
	}
	status, body = get(t, url+"/v1/users/ana/session?course=owl-demo&skill=999")
	if status != 400 || !strings.Contains(body, `"field":"skill"`) {
		t.Errorf("unknown skill = %d %s", status, body)
	}
}

func TestServeAPIFrontTarget(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	var out strings.Builder
	demo, _ := filepath.Abs("../../examples/courses/owl-demo")
	if err := run(t.Context(), []string{"course", "publish", "--src", demo, "--store", store}, func(string) string { return "" }, nil, &out, &out); err != nil {
		t.Fatalf("publish: %v\n%s", err, out.String())
	}
	sessions := startOwlPrinting(t, regexp.MustCompile(`POST (http://\S+)/v1/sessions`),
		"serve", "--target=session", "--addr", "127.0.0.1:0", "--admin-addr", "", "--store", store, "--data", t.TempDir())
	waitReady(t, sessions)
	data := t.TempDir()
	front := startOwlPrinting(t, regexp.MustCompile(`GET (http://\S+)/v1/users`),
		"serve", "--target=api-front", "--addr", "127.0.0.1:0", "--admin-addr", "", "--sessions", sessions, "--data", data)
	waitReady(t, front)
	checkFront(t, front)
	if status, body := get(t, front+"/openapi.json"); status != 200 || !strings.Contains(body, `"/v1/users/{id}/results"`) {
		t.Errorf("GET /openapi.json = %d", status)
	}
	if _, err := os.Stat(filepath.Join(data, "users", "users.db")); err != nil {
		t.Errorf("no SQLite file under --data: %v", err)
	}
	// The call to the session generator carried the trace: the front's
	// access log has a client record of it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, _ := os.ReadFile(filepath.Join(data, "logs", "access.jsonl"))
		if strings.Contains(string(log), "/v1/sessions") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the access log has no record of the call to the session generator:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, body := get(t, front+"/metrics"); status != 200 || !strings.Contains(body, `owl_apifront_results_total{outcome="duplicate"} 1`) {
		t.Errorf("metrics lack the duplicate result:\n%s", body)
	}
}

func TestUpServesAPIFront(t *testing.T) {
	url := startOwlPrinting(t, regexp.MustCompile(`landing page\s+(http://\S+)/`), "up", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data", t.TempDir())
	waitReady(t, url)
	checkFront(t, url)
	if status, body := get(t, url+"/api-front/openapi.json"); status != 200 || !strings.Contains(body, `"/v1/users/{id}/session"`) {
		t.Errorf("GET /api-front/openapi.json = %d", status)
	}
}
