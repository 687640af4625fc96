package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracectx"
)

// waitAccessRecord waits for a server record of service on route, with a
// trace root, in the access log at path.
func waitAccessRecord(t *testing.T, path, service, route string) tracectx.Record {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		for line := range strings.Lines(string(b)) {
			r, err := tracectx.ParseRecord(strings.TrimSpace(line))
			if err == nil && r.Kind == tracectx.KindServer && r.Service == service && r.Route == route && r.TraceRoot != "" {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no server record of %s on %q:\n%s", path, service, route, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSessionTargetTraceSettings serves the session target with trace.*
// settings from flags and the environment: requests are traced under the
// configured service name, into the configured access log.
func TestSessionTargetTraceSettings(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	var out strings.Builder
	demo, _ := filepath.Abs("../../examples/courses/owl-demo")
	if err := run(t.Context(), []string{"course", "publish", "--src", demo, "--store", store}, func(string) string { return "" }, nil, &out, &out); err != nil {
		t.Fatalf("publish: %v\n%s", err, out.String())
	}
	data := t.TempDir()
	accessLog := filepath.Join(t.TempDir(), "sessions-access.jsonl")
	url := startOwlPrinting(t, regexp.MustCompile(`POST (http://\S+)/v1/sessions`),
		"serve", "--target=session", "--addr", "127.0.0.1:0", "--admin-addr", "", "--store", store, "--data", data,
		"--trace-service", "sessions-eu", "--trace-access-log", accessLog)
	waitReady(t, url)
	status, s := postSession(t, url, demoSessionBody)
	if status != 200 || s["course_version"] != "1" {
		t.Fatalf("POST /v1/sessions = %d %v", status, s)
	}
	waitAccessRecord(t, accessLog, "sessions-eu", "POST /v1/sessions")
	if _, err := os.Stat(filepath.Join(data, "trace", "hash.key")); err != nil {
		t.Errorf("no hash key under --data: %v", err)
	}
}

// TestTraceUITargetIsTraced checks that the trace UI serves through the
// tracer, by default as service trace-ui under its data folder.
func TestTraceUITargetIsTraced(t *testing.T) {
	data := t.TempDir()
	logs := t.TempDir()
	if err := os.WriteFile(filepath.Join(logs, "empty.jsonl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, url, stderr := spawnOwl(t, regexp.MustCompile(`owl trace-ui: (http://\S+/)traces/`),
		"serve", "--target=trace-ui", "--addr", "127.0.0.1:0", "--admin-addr", "", "--log-format", "json",
		"--access-logs", logs, "--poll", "100ms", "--data", data)
	if status, _ := get(t, url+"traces/"); status != 200 {
		t.Fatalf("GET /traces/ = %d", status)
	}
	waitAccessRecord(t, filepath.Join(data, "logs", "access.jsonl"), "trace-ui", "GET /traces/{$}")
	interruptOwl(t, cmd, stderr)
}

// TestTargetTraceSettingsValidated checks that a bad trace setting stops
// each target before it serves, naming the setting.
func TestTargetTraceSettingsValidated(t *testing.T) {
	for _, args := range [][]string{
		{"--target=session", "--store", t.TempDir()},
		{"--target=api-front"},
		{"--target=trace-ui", "--access-logs", t.TempDir()},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		argv := append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data", t.TempDir()}, args...)
		err := run(ctx, argv, func(k string) string {
			if k == "OWL_TRACE_USER_HEADER" {
				return "Bad Header"
			}
			return ""
		}, nil, io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), `trace.user_header "Bad Header"`) {
			t.Errorf("%s with OWL_TRACE_USER_HEADER='Bad Header': %v", args[0], err)
		}
	}
}
