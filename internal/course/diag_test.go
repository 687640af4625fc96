package course

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiagnosticString(t *testing.T) {
	tests := []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{SeverityError, Pos{"a.yaml", 3, 5}, "expected a list"}, "a.yaml:3:5: expected a list"},
		{Diagnostic{SeverityWarning, Pos{"a.yaml", 3, 5}, "tab"}, "a.yaml:3:5: warning: tab"},
		{Diagnostic{SeverityError, Pos{"a.yaml", 0, 0}, "cannot read"}, "a.yaml: cannot read"},
		{Diagnostic{SeverityError, Pos{"", 0, 0}, "bare"}, "bare"},
		{Diagnostic{SeverityError, Pos{"a.yaml", 7, 0}, "line only"}, "a.yaml:7: line only"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestDiagnosticsLimit(t *testing.T) {
	d := Diagnostics{MaxErrors: 2}
	d.Warnf(Pos{File: "a"}, "w1")
	for i := range 4 {
		d.Errorf(Pos{File: "a", Line: i + 1}, "e%d", i)
		if d.Full() != (i >= 1) {
			t.Errorf("after %d errors Full() = %v", i+1, d.Full())
		}
	}
	d.Warnf(Pos{File: "a"}, "w2")
	if got := len(d.Errors()); got != 2 {
		t.Errorf("kept %d errors, want 2", got)
	}
	if d.Omitted != 2 {
		t.Errorf("Omitted = %d, want 2", d.Omitted)
	}
	if got := len(d.Warnings()); got != 2 {
		t.Errorf("kept %d warnings, want 2", got)
	}
	var b strings.Builder
	if _, err := d.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := "a: warning: w1\na:1: e0\na:2: e1\na: warning: w2\ntoo many errors: 2 more not shown\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteTo mismatch (-want +got):\n%s", diff)
	}
	err := d.Err()
	var invalid *InvalidError
	if !errors.As(err, &invalid) || len(invalid.Errors) != 2 || invalid.Omitted != 2 {
		t.Fatalf("Err() = %v, want an *InvalidError with 2 errors and 2 omitted", err)
	}
	if got, want := err.Error(), "a:1: e0 (and 3 more errors)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDiagnosticsPromoteAndSort(t *testing.T) {
	var d Diagnostics
	if d.Err() != nil || d.HasErrors() {
		t.Fatal("empty diagnostics report an error")
	}
	d.Warnf(Pos{"b.yaml", 9, 1}, "late")
	d.Warnf(Pos{"a.yaml", 2, 1}, "other file")
	d.Warnf(Pos{"b.yaml", 1, 4}, "early")
	d.Sort()
	var got []string
	for _, diag := range d.List {
		got = append(got, diag.String())
	}
	want := []string{"b.yaml:1:4: warning: early", "b.yaml:9:1: warning: late", "a.yaml:2:1: warning: other file"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sort mismatch (-want +got):\n%s", diff)
	}
	d.PromoteWarnings()
	if len(d.Errors()) != 3 || len(d.Warnings()) != 0 {
		t.Errorf("after PromoteWarnings: %d errors, %d warnings", len(d.Errors()), len(d.Warnings()))
	}
	if got, want := d.Err().Error(), "b.yaml:1:4: early (and 2 more errors)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDiagnosticJSON(t *testing.T) {
	d := Diagnostic{SeverityWarning, Pos{"a.yaml", 3, 5}, "tab"}
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), `{"severity":"warning","file":"a.yaml","line":3,"col":5,"message":"tab"}`; got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
	var back Diagnostic
	if err := json.Unmarshal(data, &back); err != nil || back != d {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}
