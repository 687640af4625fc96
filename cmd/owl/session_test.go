package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startOwlPrinting runs the owl binary and returns the first submatch of re
// in its standard output.
func startOwlPrinting(t *testing.T, re *regexp.Regexp, args ...string) string {
	t.Helper()
	_, match, _ := spawnOwl(t, re, args...)
	return match
}

func postSession(t *testing.T, base, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(base+"/v1/sessions", "application/json", strings.NewReader(body))
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

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

const demoSessionBody = `{"course":"owl-demo","skill":"101","length":5,"seed":1,"now":"2026-05-04T10:00:00Z","user":{"id":"t"}}`

func TestUpServesSessions(t *testing.T) {
	url := startOwlPrinting(t, regexp.MustCompile(`landing page\s+(http://\S+)/`), "up", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data", t.TempDir())
	status, s := postSession(t, url, demoSessionBody)
	if status != 200 || s["course"] != "owl-demo" || len(s["challenges"].([]any)) != 5 {
		t.Fatalf("POST /v1/sessions = %d %v", status, s)
	}
	status, s = postSession(t, url, `{"course":"owl-demo","skill":"nope","user":{}}`)
	if status != 400 || s["field"] != "skill" {
		t.Errorf("unknown skill: %d %v", status, s)
	}
	if status, body := get(t, url+"/sessions/demo"); status != 200 || !strings.Contains(body, "missed 3 days ago") || !strings.Contains(body, "missed one of them three days ago") || !strings.Contains(body, "new L1") {
		t.Errorf("GET /sessions/demo = %d:\n%s", status, body)
	}
	if status, body := get(t, url+"/openapi.json"); status != 200 || !strings.Contains(body, `"/v1/sessions"`) {
		t.Errorf("GET /openapi.json = %d", status)
	}
}

func TestServeSessionTarget(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	var out strings.Builder
	demo, _ := filepath.Abs("../../examples/courses/owl-demo")
	if err := run(t.Context(), []string{"course", "publish", "--src", demo, "--store", store}, func(string) string { return "" }, nil, &out, &out); err != nil {
		t.Fatalf("publish: %v\n%s", err, out.String())
	}
	url := startOwlPrinting(t, regexp.MustCompile(`POST (http://\S+)/v1/sessions`),
		"serve", "--target=session", "--addr", "127.0.0.1:0", "--admin-addr", "", "--store", store, "--data", t.TempDir())
	// Not ready until the courses are loaded; then sessions are served.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if status, _ := get(t, url+"/readyz"); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session target never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	status, s := postSession(t, url, demoSessionBody)
	if status != 200 || s["course_version"] != "1" {
		t.Fatalf("POST /v1/sessions = %d %v", status, s)
	}
}
