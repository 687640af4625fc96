package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/stitch"
	"github.com/owlstack/owl/internal/tracing/synth"
)

type traceList []*tracing.Trace

func (l *traceList) WriteTrace(t *tracing.Trace) error { *l = append(*l, t); return nil }

// TestTraceUITarget runs 'owl serve --target=trace-ui' over a synthetic
// fleet's logs: ALB and access logs followed, a stitched file loaded. The
// pages, the JSON search and the operational endpoints answer, and every
// trace of the logs is searchable.
func TestTraceUITarget(t *testing.T) {
	dir := t.TempDir()
	sim := filepath.Join(dir, "synth")
	if _, err := synth.Write(sim, synth.Config{Services: 6, Requests: 40, Seed: 3, Start: time.Now().Add(-time.Minute).UTC()}); err != nil {
		t.Fatal(err)
	}
	// A stitched file of other traces, as 'owl trace stitch' writes it.
	other := filepath.Join(dir, "other")
	if _, err := synth.Write(other, synth.Config{Services: 3, Requests: 10, Seed: 4, Start: time.Now().Add(-2 * time.Minute).UTC()}); err != nil {
		t.Fatal(err)
	}
	files, _, err := expandInputs([]string{filepath.Join(other, "app")})
	if err != nil {
		t.Fatal(err)
	}
	var stitched traceList
	if _, err := stitch.Stitch(t.Context(), nil, files, &stitched, stitch.Options{TempDir: dir}); err != nil {
		t.Fatal(err)
	}
	tracesFile := filepath.Join(dir, "traces.jsonl")
	f, err := os.Create(tracesFile)
	if err != nil {
		t.Fatal(err)
	}
	w := tracing.NewWriter(f)
	for _, tr := range stitched {
		if err := w.WriteTrace(tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	cmd, url, stderr := spawnOwl(t, regexp.MustCompile(`owl trace-ui: (http://\S+/)traces/ \(10 traces loaded\)`),
		"serve", "--target=trace-ui", "--addr", "127.0.0.1:0", "--admin-addr", "", "--log-format", "json",
		"--access-logs", filepath.Join(sim, "app"), "--alb-logs", filepath.Join(sim, "alb"), "--traces", tracesFile, "--poll", "100ms", "--settle", "100ms",
		"--data", dir)
	getBody := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	var res struct {
		Matched int `json:"matched"`
		Traces  []struct {
			Service string `json:"service"`
		} `json:"traces"`
	}
	for {
		_, body := getBody("traces/api/search?limit=1000")
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatalf("search JSON: %v: %s", err, body)
		}
		if res.Matched >= 50 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res.Matched != 50 {
		t.Fatalf("%d traces searchable, want 40 from the logs and 10 from the file", res.Matched)
	}
	lb := 0
	for _, tr := range res.Traces {
		if strings.HasPrefix(tr.Service, "app/") {
			lb++
		}
	}
	// The 40 followed traces come through the ALB; the 10 of the file
	// were stitched from access logs alone.
	if lb != 40 {
		t.Errorf("%d of 50 traces start at the load balancer, want the 40 whose ALB logs were followed", lb)
	}
	for _, path := range []string{"", "traces/", "traces/graph?last=", "traces/findings?last=", "traces/ranking", "healthz", "readyz", "metrics"} {
		code, body := getBody(path)
		if code != 200 {
			t.Errorf("GET /%s = %d: %.300s", path, code, body)
		}
		if path == "metrics" && !strings.Contains(body, "owl_trace_store_traces 50") {
			t.Errorf("metrics lack owl_trace_store_traces 50")
		}
	}
	interruptOwl(t, cmd, stderr)
}

func TestTraceUITargetNeedsInput(t *testing.T) {
	var stderr strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve", "--target=trace-ui", "--addr", "127.0.0.1:0", "--admin-addr", "", "--access-logs", ""}, func(string) string { return "" }, nil, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "nothing to show") {
		t.Fatalf("trace-ui without input: %v", err)
	}
}
