package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewFormats(t *testing.T) {
	for _, tc := range []struct {
		format string
		json   bool
	}{
		{"", true}, // auto on a buffer (not a terminal) is JSON
		{"auto", true},
		{"json", true},
		{"text", false},
	} {
		var buf bytes.Buffer
		log, err := New(&buf, Options{Format: tc.format})
		if err != nil {
			t.Fatalf("format %q: %v", tc.format, err)
		}
		log.Info("hello", "k", 1)
		var m map[string]any
		isJSON := json.Unmarshal(buf.Bytes(), &m) == nil
		if isJSON != tc.json {
			t.Errorf("format %q: JSON = %v, want %v (output %q)", tc.format, isJSON, tc.json, buf.String())
		}
	}
}

func TestNewLevel(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, Options{Level: "warn", Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("dropped")
	log.Warn("kept")
	if strings.Contains(buf.String(), "dropped") || !strings.Contains(buf.String(), "kept") {
		t.Errorf("level warn wrote %q", buf.String())
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, Options{Level: "loud"}); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Errorf("bad level: err = %v", err)
	}
	if _, err := New(&bytes.Buffer{}, Options{Format: "xml"}); err == nil || !strings.Contains(err.Error(), "json") {
		t.Errorf("bad format: err = %v", err)
	}
}
