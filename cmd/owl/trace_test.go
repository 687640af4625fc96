package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/owlstack/owl/internal/tracectx"
)

// TestUpWritesAccessLogs checks that owl up traces every request of its web
// server: the response carries the trace root, and DATA/logs/access.jsonl
// gets the record, continuing the trace the caller sent.
func TestUpWritesAccessLogs(t *testing.T) {
	data := t.TempDir()
	cmd, url, stderr := startOwl(t, "up", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data", data)
	req, _ := http.NewRequest("GET", url+"healthz?token=secret", nil)
	req.Header.Set("X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Caller=probe")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Amzn-Trace-Id"); got != "Root=1-67891233-abcdef012345678912345678" {
		t.Errorf("response X-Amzn-Trace-Id = %q", got)
	}
	interruptOwl(t, cmd, stderr)
	f, err := os.Open(filepath.Join(data, "logs", "access.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var found bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "secret") {
			t.Errorf("the query string reached the access log: %s", sc.Text())
		}
		var r tracectx.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("access log line %q: %v", sc.Text(), err)
		}
		// owl up's own components probe /healthz too: find our request.
		if r.Route == "GET /healthz" && r.TraceRoot == "1-67891233-abcdef012345678912345678" {
			found = true
			if r.Service != "owl" || r.Parent != "53995c3f42cd8ad8" || r.Caller != "probe" || r.Status != 200 || r.QueryHash == "" {
				t.Errorf("record = %+v", r)
			}
		}
	}
	if !found {
		t.Error("no access-log record for our GET /healthz")
	}
	if _, err := os.Stat(filepath.Join(data, "trace", "hash.key")); err != nil {
		t.Errorf("hash key: %v", err)
	}
}
