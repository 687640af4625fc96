package owl_test

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/owlstack/owl/"

// layers maps package roots under internal/ to the system or layer they
// belong to. Every internal package must fall under one of them, so a new
// package has to be placed here on purpose.
var layers = map[string]string{
	// Platform: shared by every system, importing no system.
	"internal/config":     "platform",
	"internal/logging":    "platform",
	"internal/metrics":    "platform",
	"internal/httpserver": "platform",
	"internal/runner":     "platform",
	"internal/landing":    "platform",
	"internal/tracectx":   "platform",
	"internal/pgtest":     "platform",
	"internal/sqldb":      "platform",
	"internal/jsontext":   "platform",

	// Session generator (seed 001).
	"internal/course":      "generator",
	"internal/session":     "generator",
	"internal/memory":      "generator",
	"internal/coursestore": "generator",
	"internal/coursecache": "generator",
	"internal/userstate":   "generator",
	// The demo course the generator's tests and owl up read.
	"examples/courses": "generator",

	// Request tracing (seed 003).
	"internal/tracing": "tracing",

	// Streak SMS batch (seed 002).
	"internal/sms": "sms",

	// Migration and traffic shifting (seed 000).
	"internal/migrate": "shift",
	"internal/shift":   "shift",
}

func layerOf(pkg string) (string, bool) {
	// An external test package (internal/shift_test) belongs to its package.
	rel := strings.TrimSuffix(strings.TrimPrefix(pkg, module), "_test")
	best := ""
	for root := range layers {
		if (rel == root || strings.HasPrefix(rel, root+"/")) && len(root) > len(best) {
			best = root
		}
	}
	if best == "" {
		return "", false
	}
	return layers[best], true
}

// TestImportDirections enforces DESIGN.md: systems never import each other,
// and platform packages import no system. Only cmd/owl, the composition
// root, may import everything.
func TestImportDirections(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", `{{.ImportPath}}|{{join .Imports " "}}`, "./internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var problems []string
	for line := range strings.Lines(string(out)) {
		// Test variants read "pkg [pkg.test]"; test mains end in ".test".
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), "|")
		pkg, _, _ = strings.Cut(pkg, " ")
		if !strings.HasPrefix(pkg, module+"internal/") || strings.HasSuffix(pkg, ".test") {
			continue
		}
		from, ok := layerOf(pkg)
		if !ok {
			problems = append(problems, pkg+" is in no layer: add its root to layers in architecture_test.go")
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to, ok := layerOf(imp)
			switch {
			case !ok:
				problems = append(problems, pkg+" imports "+imp+", which is outside internal/")
			case to == from || to == "platform":
			default:
				problems = append(problems, pkg+" ("+from+") imports "+imp+" ("+to+")")
			}
		}
	}
	sort.Strings(problems)
	problems = compact(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func TestLayerOf(t *testing.T) {
	for pkg, want := range map[string]string{
		module + "internal/config":            "platform",
		module + "internal/tracing/stitch":    "tracing",
		module + "internal/tracectx":          "platform",
		module + "internal/course/librelingo": "generator",
		module + "internal/shift/albweights":  "shift",
		module + "internal/sms/smsalibaba":    "sms",
		module + "internal/sessionish/foo":    "",
		module + "internal/tracingfoo/x":      "",
	} {
		got, _ := layerOf(pkg)
		if got != want {
			t.Errorf("layerOf(%s) = %q, want %q", pkg, got, want)
		}
	}
}
