package synth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFaults(t *testing.T) {
	fs, err := ParseFaults("latency:svc=cart,ms=300; errors:svc=payment,rate=0.2;skew:svc=user,ms=-40;uncompressed:svc=course;")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.String())
	}
	if s := strings.Join(got, ";"); s != "latency:svc=cart,ms=300;errors:svc=payment,rate=0.2;skew:svc=user,ms=-40;uncompressed:svc=course" {
		t.Errorf("faults = %s", s)
	}
	for spec, want := range map[string]string{
		"slow:svc=a":                "unknown kind",
		"latency:svc=a":             "missing ms",
		"latency:ms=3":              "missing svc",
		"latency:svc=a,ms=x":        `ms="x"`,
		"latency:svc=a,ms=-1":       "negative latency",
		"errors:svc=a,rate=2":       "between 0 and 1",
		"errors:svc=a,rate=0.1,x=1": `unexpected "x=1"`,
		"latency":                   "want KIND:key=value",
	} {
		if _, err := ParseFaults(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFaults(%q) = %v, want %q", spec, err, want)
		}
	}
}

func TestWriteIsDeterministicAndOnlyWritesItsFiles(t *testing.T) {
	cfg := Config{Services: 5, Requests: 40, Seed: 9, Faults: []Fault{{Kind: FaultUncompressed, Service: "api"}}}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, d := range []string{a, b} {
		if _, err := Write(d, cfg); err != nil {
			t.Fatal(err)
		}
	}
	var files []string
	err := filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(a, p)
			if err != nil {
				return err
			}
			files = append(files, rel)
			x, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			y, err := os.ReadFile(filepath.Join(b, rel))
			if err != nil {
				t.Errorf("%s: %v", rel, err)
			}
			if string(x) != string(y) {
				t.Errorf("%s differs between two runs with the same seed", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f != "truth.jsonl" && !strings.HasPrefix(f, "app/") && !strings.HasPrefix(f, "alb/") {
			t.Errorf("unexpected file %s", f)
		}
	}
	api, _ := os.ReadFile(filepath.Join(a, "app", "api.jsonl"))
	for _, line := range strings.Split(string(api), "\n") {
		if strings.Contains(line, `"kind":"server"`) && strings.Contains(line, `"encoding":`) {
			t.Errorf("uncompressed api answered with an encoding: %s", line)
		}
	}
	if _, err := Write(filepath.Join(t.TempDir(), "c"), Config{Services: 2, Requests: 1, Faults: []Fault{{Kind: FaultLatency, Service: "nope"}}}); err == nil || !strings.Contains(err.Error(), `names service "nope"; services: api, session`) {
		t.Errorf("unknown service in fault: %v", err)
	}
}
