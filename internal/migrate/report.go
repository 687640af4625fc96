package migrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
)

// Status says what became of one ECS field.
type Status string

// The statuses of a finding.
const (
	Mapped       Status = "mapped"       // same meaning on Kubernetes
	Approximated Status = "approximated" // close, by the rule given
	NotMapped    Status = "not-mapped"   // nothing generated; see the advice
)

// Finding is what became of one ECS field of a service.
type Finding struct {
	// Field is the ECS field, e.g. "containerDefinitions[app].memory".
	Field  string `json:"field"`
	Status Status `json:"status"`
	// Rule is how the field was mapped or approximated.
	Rule string `json:"rule,omitempty"`
	// Advice says what to do about a field that was not mapped.
	Advice string `json:"advice,omitempty"`
	// Unknown marks a field owl does not know (AWS added it after owl).
	Unknown bool `json:"unknown,omitempty"`
}

// ServiceReport is the conversion report of one service.
type ServiceReport struct {
	Service        string    `json:"service"`
	Team           string    `json:"team"`
	Namespace      string    `json:"namespace"`
	TaskDefinition string    `json:"taskDefinition"`
	Findings       []Finding `json:"findings"`
	// Error is why the service was not converted; empty when it was.
	Error string `json:"error,omitempty"`
}

// Counts returns how many findings have each status.
func (r *ServiceReport) Counts() (mapped, approximated, notMapped, unknown int) {
	for _, f := range r.Findings {
		switch f.Status {
		case Mapped:
			mapped++
		case Approximated:
			approximated++
		case NotMapped:
			notMapped++
		}
		if f.Unknown {
			unknown++
		}
	}
	return
}

// Report is the conversion report of a fleet.
type Report struct {
	Services []*ServiceReport `json:"services"`
	// InputErrors are problems in input files, as "file: path: reason".
	InputErrors []string `json:"inputErrors,omitempty"`
}

// ReportFile is the name of the report in an output folder.
const ReportFile = "report.json"

// WriteFile writes the report atomically as ReportFile in the output folder
// dir, where ReadReport finds it.
func (r *Report) WriteFile(dir string) error {
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, ReportFile), b.Bytes())
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes a summary line per service and, when detail is set,
// every approximated and not-mapped field with its rule or advice.
func (r *Report) WriteTable(w io.Writer, detail bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tTEAM\tNAMESPACE\tMAPPED\tAPPROX\tNOT MAPPED\tUNKNOWN\tRESULT")
	for _, s := range r.Services {
		m, a, n, u := s.Counts()
		result := "converted"
		if s.Error != "" {
			result = "failed: " + s.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", s.Service, s.Team, s.Namespace, m, a, n, u, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !detail {
		return nil
	}
	for _, s := range r.Services {
		for _, f := range s.Findings {
			switch f.Status {
			case Approximated:
				fmt.Fprintf(w, "%s: %s: approximated: %s\n", s.Service, f.Field, f.Rule)
			case NotMapped:
				fmt.Fprintf(w, "%s: %s: not mapped: %s\n", s.Service, f.Field, f.Advice)
			}
		}
	}
	return nil
}
