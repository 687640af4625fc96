package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/logging"
	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/rca"
	"github.com/owlstack/owl/internal/tracing/rca/rcaeval"
)

// timeWindow is a half-open interval [from, to) of trace start times; the
// zero window holds every trace.
type timeWindow struct{ from, to time.Time }

func (w timeWindow) set() bool { return !w.from.IsZero() }

func (w timeWindow) holds(t time.Time) bool {
	return !w.set() || (!t.Before(w.from) && t.Before(w.to))
}

// parseWindow reads START/END, both RFC 3339.
func parseWindow(s string) (timeWindow, error) {
	if s == "" {
		return timeWindow{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return timeWindow{}, fmt.Errorf("%q: want START/END in RFC 3339, e.g. 2026-01-01T00:00:00Z/2026-01-01T00:05:00Z", s)
	}
	from, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(a))
	if err != nil {
		return timeWindow{}, fmt.Errorf("%q: start: %w", s, err)
	}
	to, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(b))
	if err != nil {
		return timeWindow{}, fmt.Errorf("%q: end: %w", s, err)
	}
	if !to.After(from) {
		return timeWindow{}, fmt.Errorf("%q: the end is not after the start", s)
	}
	return timeWindow{from, to}, nil
}

func newTraceRCACmd(e *env) *cobra.Command {
	var baseline, incident, in, baseWin, incWin, symptom string
	var top int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rca (--baseline FILE --incident FILE | --in FILE --baseline-window START/END --incident-window START/END) [--symptom SERVICE[/ROUTE]]",
		Short: "Rank the likely root causes of an incident against usual behaviour",
		Long: `Rank the services (and untraced dependencies such as DynamoDB) most likely to
cause an incident. Each node's behaviour in the incident traces is compared
with a baseline of usual behaviour: the latency of its own work (self time:
its span time less the time it waited for its calls), its own errors (those
no failed call of its own explains), and what its callers see. A
personalised PageRank over the incident's call graph then moves suspicion
from callers that suffer to the callees that cause it.

Traces are in owl format ('owl trace stitch' writes them). Give two files,
or one file and two time windows (START/END, RFC 3339; a trace belongs to
the window its root starts in). --symptom limits the analysis to the calls
below a service, or one of its routes, e.g. 'api/POST /v1/sessions/{id}'.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case in != "" && (baseline != "" || incident != ""):
				return usagef(cmd, "give either --in FILE with two windows, or --baseline FILE and --incident FILE")
			case in == "" && (baseline == "" || incident == ""):
				return usagef(cmd, "missing input: give --baseline FILE and --incident FILE, or --in FILE with --baseline-window and --incident-window")
			}
			bw, err := parseWindow(baseWin)
			if err != nil {
				return usagef(cmd, "--baseline-window %v", err)
			}
			iw, err := parseWindow(incWin)
			if err != nil {
				return usagef(cmd, "--incident-window %v", err)
			}
			if in != "" {
				if !bw.set() || !iw.set() {
					return usagef(cmd, "--in needs both --baseline-window and --incident-window")
				}
				if bw.from.Before(iw.to) && iw.from.Before(bw.to) {
					return usagef(cmd, "the baseline and incident windows overlap")
				}
			}
			sym, err := rca.ParseSymptom(symptom)
			if err != nil {
				return usagef(cmd, "--symptom: %v", err)
			}
			bp, ip := rca.NewProfile(sym), rca.NewProfile(sym)
			if in != "" {
				err = readTraces(e.stderr, in, func(t *tracing.Trace) {
					switch start := t.Spans[0].Start; {
					case bw.holds(start):
						bp.Add(t)
					case iw.holds(start):
						ip.Add(t)
					}
				})
			} else {
				err = readTraces(e.stderr, baseline, func(t *tracing.Trace) {
					if bw.holds(t.Spans[0].Start) {
						bp.Add(t)
					}
				})
				if err == nil {
					err = readTraces(e.stderr, incident, func(t *tracing.Trace) {
						if iw.holds(t.Spans[0].Start) {
							ip.Add(t)
						}
					})
				}
			}
			if err != nil {
				return err
			}
			sus, err := rca.Rank(bp, ip, rca.Options{Top: top})
			if err != nil {
				return fmt.Errorf("rca: %w", err)
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetEscapeHTML(false)
				return enc.Encode(struct {
					Symptom        string        `json:"symptom"`
					BaselineTraces int           `json:"baseline_traces"`
					IncidentTraces int           `json:"incident_traces"`
					Suspects       []rca.Suspect `json:"suspects"`
				}{sym.String(), bp.Traces(), ip.Traces(), sus})
			}
			writeSuspects(e.stdout, sym, bp.Traces(), ip.Traces(), sus)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&baseline, "baseline", "", "traces of usual behaviour (owl format)")
	f.StringVar(&incident, "incident", "", "traces of the incident (owl format)")
	f.StringVar(&in, "in", "", "one trace file holding both windows")
	f.StringVar(&baseWin, "baseline-window", "", "START/END (RFC 3339) of the baseline")
	f.StringVar(&incWin, "incident-window", "", "START/END (RFC 3339) of the incident")
	f.StringVar(&symptom, "symptom", "", "where the incident is felt: SERVICE or SERVICE/ROUTE (default: every trace from its entry)")
	f.IntVar(&top, "top", 10, "number of suspects shown (0: all)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// readTraces streams the traces of an owl-format file to fn, with a
// progress bar on a terminal.
func readTraces(stderr io.Writer, path string, fn func(*tracing.Trace)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	bar := newByteProgress(stderr, "read "+path, info.Size())
	defer bar.done()
	cr := &countingReader{r: f, progress: bar.set}
	r := tracing.NewReader(cr, path)
	for {
		t, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		fn(t)
	}
}

type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.progress(c.n)
	return n, err
}

func writeSuspects(w io.Writer, sym rca.Symptom, nb, ni int, sus []rca.Suspect) {
	where := "every trace"
	if sym.Service != "" {
		where = "traces through " + sym.String()
	}
	fmt.Fprintf(w, "root-cause ranking of %s: %d baseline traces, %d incident traces\n", where, nb, ni)
	for i, s := range sus {
		ev := s.Evidence
		fmt.Fprintf(w, "\n%d. %s (%s)  score %.3f  anomaly %.2f  callers see %.2f\n", i+1, s.Node, s.Kind, s.Score, s.Anomaly, s.Seen)
		fmt.Fprintf(w, "   %s: %d → %d calls\n", ev.Route, ev.BaselineCalls, ev.IncidentCalls)
		fmt.Fprintf(w, "   self time p50 %.2f → %.2f ms (z %.1f); duration p50 %.2f → %.2f ms (z %.1f)\n",
			ev.SelfMSBaseline, ev.SelfMSIncident, ev.SelfZ, ev.DurationMSBaseline, ev.DurationMSIncident, ev.DurationZ)
		fmt.Fprintf(w, "   own errors %.1f%% → %.1f%%; all errors %.1f%% → %.1f%%\n",
			100*ev.OwnErrorsBaseline, 100*ev.OwnErrorsIncident, 100*ev.ErrorsBaseline, 100*ev.ErrorsIncident)
		if len(ev.Examples) > 0 {
			fmt.Fprintf(w, "   e.g. %s\n", strings.Join(ev.Examples, " "))
		}
	}
}

func newTraceRCAEvalCmd(e *env) *cobra.Command {
	cfg := rcaeval.Full()
	var asJSON, check bool
	cmd := &cobra.Command{
		Use:   "rca-eval [--sizes N,...] [--kinds K,...] [--reps R] [--seed S] [--json] [--check]",
		Short: "Measure the root-cause ranking on simulated incidents",
		Long: `Inject faults into simulated fleets ('owl trace synth' topologies) and measure
how well 'owl trace rca' finds their cause: one case per fleet size, fault
kind and repetition, each on its own fleet, with fixed seeds. Fault kinds:
latency (a service slows), errors (it fails a share of requests), slowdep
(its DynamoDB table slows), retries (it fails transiently and its callers
retry with backoff) and timeout (it slows beyond its callers' timeout, which
fail in turn). Every fault propagates to callers. Both windows carry
background noise (latency spikes, a trickle of errors) and most incidents
a smaller distracting slowdown elsewhere.

Reports AC@1, AC@3 and Avg@5 (the mean of AC@1..AC@5) of the ranking, of its
anomaly scores alone, and of two baselines: the node with the largest
latency increase, and spectrum-based localisation (Ochiai over failed and
passed traces). --check exits 1 unless AC@1 ≥ 0.8, AC@3 ≥ 0.95 and AC@1 is
at least 0.15 above the better baseline.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Reps < 1 {
				return usagef(cmd, "--reps must be at least 1")
			}
			for _, n := range cfg.Sizes {
				if n < 4 {
					return usagef(cmd, "--sizes: %d: a fleet needs at least 4 services", n)
				}
			}
			for _, k := range cfg.Kinds {
				if !slices.Contains(rcaeval.Kinds(), k) {
					return usagef(cmd, "--kinds: %q: valid kinds: %s", k, strings.Join(rcaeval.Kinds(), ", "))
				}
			}
			progress := func(int, int) {}
			if logging.IsTerminal(e.stderr) {
				progress = func(done, total int) {
					fmt.Fprintf(e.stderr, "\rrca-eval: case %d of %d ", done, total)
					if done == total {
						fmt.Fprint(e.stderr, "\r\033[K")
					}
				}
			}
			rep, err := rcaeval.Run(cmd.Context(), cfg, progress)
			if err != nil {
				return err
			}
			rank, _ := rep.Scores(rcaeval.MethodRanking, "")
			base, _ := rep.Scores(rcaeval.MethodLatency, "")
			spec, _ := rep.Scores(rcaeval.MethodSpectrum, "")
			if asJSON {
				type acc struct {
					AC1  float64 `json:"ac1"`
					AC3  float64 `json:"ac3"`
					Avg5 float64 `json:"avg5"`
				}
				out := struct {
					Cases int `json:"cases"`
					acc
					Baseline acc `json:"baseline"`
					Spectrum acc `json:"spectrum"`
				}{len(rep.Cases), acc(rank), acc(base), acc(spec)}
				if err := json.NewEncoder(e.stdout).Encode(out); err != nil {
					return err
				}
			} else {
				writeEval(e.stdout, cfg, rep)
			}
			if check {
				better := max(base.AC1, spec.AC1)
				if rank.AC1 < 0.8 || rank.AC3 < 0.95 || rank.AC1 < better+0.15 {
					return fmt.Errorf("rca-eval: below target: AC@1 %.3f (want ≥ 0.8 and ≥ %.3f), AC@3 %.3f (want ≥ 0.95)", rank.AC1, better+0.15, rank.AC3)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&cfg.Sizes, "sizes", cfg.Sizes, "fleet sizes (services)")
	f.StringSliceVar(&cfg.Kinds, "kinds", cfg.Kinds, "fault kinds")
	f.IntVar(&cfg.Reps, "reps", cfg.Reps, "cases per fleet size and fault kind")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed gives the same cases")
	f.BoolVar(&asJSON, "json", false, `print {"cases","ac1","ac3","avg5","baseline":{...},"spectrum":{...}}`)
	f.BoolVar(&check, "check", false, "exit 1 unless the ranking meets its targets")
	return cmd
}

func writeEval(w io.Writer, cfg rcaeval.Config, rep *rcaeval.Report) {
	sizes := make([]string, len(cfg.Sizes))
	for i, n := range cfg.Sizes {
		sizes[i] = fmt.Sprint(n)
	}
	fmt.Fprintf(w, "%d cases: fleets of %s services × faults %s × %d, seed %d\n\n",
		len(rep.Cases), strings.Join(sizes, ", "), strings.Join(cfg.Kinds, ", "), cfg.Reps, cfg.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "method\tAC@1\tAC@3\tAvg@5")
	for _, m := range rcaeval.Methods() {
		s, _ := rep.Scores(m, "")
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\n", m, s.AC1, s.AC3, s.Avg5)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nAC@1 (AC@3) by fault kind")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "fault\tcases")
	for _, m := range rcaeval.Methods() {
		fmt.Fprintf(tw, "\t%s", m)
	}
	fmt.Fprintln(tw)
	for _, k := range cfg.Kinds {
		_, n := rep.Scores(rcaeval.MethodRanking, k)
		fmt.Fprintf(tw, "%s\t%d", k, n)
		for _, m := range rcaeval.Methods() {
			s, _ := rep.Scores(m, k)
			fmt.Fprintf(tw, "\t%.2f (%.2f)", s.AC1, s.AC3)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
