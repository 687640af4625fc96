package main

import (
	"context"
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

	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/findings"
	"github.com/owlstack/owl/internal/tracing/graph"
	"github.com/owlstack/owl/internal/tracing/graph/graphsvg"
)

// readTraceFiles reads owl trace files ("-" is stdin) one trace at a time,
// with a progress bar on a terminal; errors name file:line.
func readTraceFiles(ctx context.Context, e *env, label string, files []string, each func(*tracing.Trace)) (int64, error) {
	var total int64
	for _, f := range files {
		if f == "-" {
			continue
		}
		info, err := os.Stat(f)
		if err != nil {
			return 0, err
		}
		total += info.Size()
	}
	bar := newByteProgress(e.stderr, label, total)
	defer bar.done()
	var n, done int64
	for _, f := range files {
		r := e.stdin
		name := "stdin"
		if f != "-" {
			fh, err := os.Open(f)
			if err != nil {
				return n, err
			}
			defer fh.Close()
			r, name = fh, f
		}
		cr := &traceProgressReader{r: r, done: &done, bar: bar}
		tr := tracing.NewReader(cr, name)
		for {
			t, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return n, err
			}
			each(t)
			n++
			if n%4096 == 0 && ctx.Err() != nil {
				return n, ctx.Err()
			}
		}
	}
	return n, nil
}

// traceProgressReader reports the bytes read to a progress bar.
type traceProgressReader struct {
	r    io.Reader
	done *int64
	bar  *byteProgress
}

func (p *traceProgressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	*p.done += int64(n)
	p.bar.set(*p.done)
	return n, err
}

// writeOutOrStdout writes to --out atomically, or to stdout.
func writeOutOrStdout(e *env, out string, write func(io.Writer) error) error {
	if out == "" {
		return write(e.stdout)
	}
	return writeFileAtomic(out, write, 0o644)
}

func newTraceGraphCmd(e *env) *cobra.Command {
	var format, out, splitBy, from, to string
	var attrs []string
	var f graph.Filter
	cmd := &cobra.Command{
		Use:   "graph [--format table|json|dot|svg] [filters...] [--out FILE] FILE...",
		Short: "Service dependency graph of stitched traces, with filters",
		Long: `Build the service dependency graph of traces in owl format (as 'owl trace
stitch' writes them; '-' reads stdin): nodes are services, load balancers
and external dependencies (hosts only their callers log, e.g. DynamoDB),
edges caller → callee with calls, calls per request, error rate, p50/p99
latency, request and response sizes, the share of uncompressed responses
and the network time between the caller's send and the callee's receive.
Quantiles are within 1%.

Formats: table (default, for the terminal), json (documented, stable
fields), dot (Graphviz) and svg (rendered in-process, no dot binary).

Which traces and calls count: --from/--to (RFC 3339; traces starting in
[from, to)), --attr KEY=VALUE (access-log attributes, repeatable; e.g.
side=new), --split-by KEY (service nodes become service@value, e.g. api@old
and api@new). Which edges are shown: --min-calls, --min-bytes (traffic),
--min-req-bytes and --min-resp-bytes (mean sizes), --errors-only,
--latency-above (p99), --service NAME with --depth K (the neighbourhood).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef(cmd, "no input: give owl trace files ('-' for stdin)")
			}
			if !slices.Contains([]string{"table", "json", "dot", "svg"}, format) {
				return usagef(cmd, "--format %q: valid formats: table, json, dot, svg", format)
			}
			var opts graph.Options
			var err error
			if opts.From, err = parseGraphTime(from); err != nil {
				return usagef(cmd, "--from: %v", err)
			}
			if opts.To, err = parseGraphTime(to); err != nil {
				return usagef(cmd, "--to: %v", err)
			}
			if opts.Attrs, err = parseGraphAttrs(attrs); err != nil {
				return usagef(cmd, "%v", err)
			}
			if f.Depth < 0 || f.MinCalls < 0 || f.MinBytes < 0 {
				return usagef(cmd, "--depth, --min-calls and --min-bytes must not be negative")
			}
			if cmd.Flags().Changed("depth") && f.Service == "" {
				return usagef(cmd, "--depth needs --service")
			}
			opts.SplitBy = splitBy
			b := graph.NewBuilder(opts)
			if _, err := readTraceFiles(cmd.Context(), e, "graph", args, func(t *tracing.Trace) { b.Add(t) }); err != nil {
				return fmt.Errorf("graph: %w", err)
			}
			g := b.Build().Filter(f)
			return writeOutOrStdout(e, out, func(w io.Writer) error {
				switch format {
				case "json":
					return g.WriteJSON(w)
				case "dot":
					return g.WriteDOT(w)
				case "svg":
					r := graphsvg.NewRenderer(1)
					defer r.Close()
					svg, err := r.SVG(cmd.Context(), g.DOT())
					if err != nil {
						return err
					}
					_, err = w.Write(svg)
					return err
				}
				return writeGraphTable(w, g)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "table", "output format: table, json, dot or svg")
	fl.StringVar(&out, "out", "", "write to this file (atomically) instead of stdout")
	fl.StringVar(&from, "from", "", "count traces starting at or after this time (RFC 3339)")
	fl.StringVar(&to, "to", "", "count traces starting before this time (RFC 3339)")
	fl.StringArrayVar(&attrs, "attr", nil, "count only calls with this access-log attribute, KEY=VALUE (repeatable)")
	fl.StringVar(&splitBy, "split-by", "", "split service nodes by this access-log attribute (e.g. side)")
	fl.Int64Var(&f.MinCalls, "min-calls", 0, "show edges with at least this many calls")
	fl.Int64Var(&f.MinBytes, "min-bytes", 0, "show edges with at least this much traffic (request + response bytes)")
	fl.Float64Var(&f.MinReqBytes, "min-req-bytes", 0, "show edges whose mean request is at least this many bytes")
	fl.Float64Var(&f.MinRespBytes, "min-resp-bytes", 0, "show edges whose mean response is at least this many bytes")
	fl.BoolVar(&f.ErrorsOnly, "errors-only", false, "show edges with failed calls only")
	fl.DurationVar(&f.LatencyAbove, "latency-above", 0, "show edges whose p99 latency is above this (e.g. 50ms)")
	fl.StringVar(&f.Service, "service", "", "show only this service and its neighbourhood")
	fl.IntVar(&f.Depth, "depth", 1, "with --service: how many edges away the neighbourhood reaches")
	return cmd
}

func parseGraphTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (e.g. 2026-01-01T10:00:00Z)", s)
	}
	return t, nil
}

func parseGraphAttrs(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--attr %q: want KEY=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

func writeGraphTable(w io.Writer, g *graph.Graph) error {
	fmt.Fprintf(w, "%d requests", g.Requests)
	if g.Requests > 0 {
		fmt.Fprintf(w, " from %s to %s", g.From.UTC().Format(time.RFC3339), g.To.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "; %d nodes, %d edges\n\n", len(g.Nodes), len(g.Edges))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CALLER\tCALLEE\tCALLS\t/REQ\tERRORS\tP50\tP99\tREQ\tRESP\tRESP P99\tUNCOMPR\tNET P50")
	for _, ed := range g.Edges {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f%%\t%s\n",
			ed.Caller, ed.Callee, ed.Calls, ed.CallsPerRequest, graphPercent(ed.ErrorRate), graphDur(ed.LatencyP50US), graphDur(ed.LatencyP99US),
			graphSize(ed.ReqBytesMean), graphSize(ed.RespBytesMean), graphSize(ed.RespBytesP99), 100*ed.Uncompressed, graphNet(ed))
	}
	return tw.Flush()
}

// graphNet is the edge's network p50, "-" when no callee logged its side.
func graphNet(e graph.Edge) string {
	if e.NetworkP50US == 0 && e.NetworkP99US == 0 {
		return "-"
	}
	return graphDur(e.NetworkP50US)
}

func graphPercent(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*r)
}

func graphDur(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.1fms", us/1e3)
	}
	return fmt.Sprintf("%.0fµs", us)
}

func graphSize(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1fMiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1fKiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0fB", b)
}

func newTraceFindingsCmd(e *env) *cobra.Command {
	var asJSON bool
	var out string
	var o findings.Options
	cmd := &cobra.Command{
		Use:   "findings [--json] [thresholds...] [--out FILE] FILE...",
		Short: "Find uncompressed answers, repeated and N+1 calls, failing edges, slow links",
		Long: `Examine traces in owl format ('-' reads stdin) for problems in how services
call each other, most severe first, each with example trace roots:

  uncompressed     large responses sent without compression to clients that
                   accept it
  repeated_call    identical calls (same callee, method, route and
                   fingerprint) repeated in one handler invocation, with the
                   time a cache would save
  n_plus_one       one call per item to the same route instead of a batch
  repeated_errors  edges whose calls keep failing, and whether the callee
                   fails by itself or passes up its callees' failures
  network_latency  edges with slow networks between send and receive

--json prints {"requests": N, "findings": [{"type", "severity", "score",
"caller", "callee", "method", "route", "summary", "numbers", "examples"}]}.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef(cmd, "no input: give owl trace files ('-' for stdin)")
			}
			if o.MinRequests < 0 || o.MinUncompressedBytes < 0 || o.MinLoop < 0 || o.MinErrors < 0 || o.MinNetwork < 0 || o.Examples < 0 ||
				o.MinUncompressedShare < 0 || o.MinUncompressedShare > 1 || o.MinErrorRate < 0 || o.MinErrorRate > 1 {
				return usagef(cmd, "thresholds must not be negative, and shares and rates must be between 0 and 1")
			}
			d := findings.NewDetector(o)
			if _, err := readTraceFiles(cmd.Context(), e, "findings", args, d.Add); err != nil {
				return fmt.Errorf("findings: %w", err)
			}
			fs := d.Findings()
			return writeOutOrStdout(e, out, func(w io.Writer) error {
				if asJSON {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					enc.SetEscapeHTML(false)
					return enc.Encode(struct {
						Requests int64              `json:"requests"`
						Findings []findings.Finding `json:"findings"`
					}{d.Requests(), fs})
				}
				return writeFindings(w, d.Requests(), fs)
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&asJSON, "json", false, "print JSON instead of text")
	fl.StringVar(&out, "out", "", "write to this file (atomically) instead of stdout")
	fl.Int64Var(&o.MinRequests, "min-requests", 5, "requests that must show a pattern before it is a finding")
	fl.Int64Var(&o.MinUncompressedBytes, "min-uncompressed-bytes", 1024, "response size from which an uncompressed answer counts")
	fl.Float64Var(&o.MinUncompressedShare, "min-uncompressed-share", 0.5, "share of an endpoint's answers that must be large and uncompressed")
	fl.BoolVar(&o.RequireAcceptEncoding, "require-accept-encoding", false, "flag uncompressed answers only when the logs show the client's Accept-Encoding")
	fl.IntVar(&o.MinLoop, "min-loop", 5, "calls with different arguments to one route from one handler that make an N+1 pattern")
	fl.Int64Var(&o.MinErrors, "min-errors", 5, "failed calls on an edge that make a finding")
	fl.Float64Var(&o.MinErrorRate, "min-error-rate", 0.01, "share of an edge's calls failed that makes a finding")
	fl.DurationVar(&o.MinNetwork, "min-network", 5*time.Millisecond, "median send-to-receive time from which a link is slow")
	fl.IntVar(&o.Examples, "examples", 3, "example trace roots per finding")
	return cmd
}

func writeFindings(w io.Writer, requests int64, fs []findings.Finding) error {
	fmt.Fprintf(w, "%d findings in %d requests\n", len(fs), requests)
	for _, f := range fs {
		where := f.Callee
		if f.Caller != "" {
			where = f.Caller + " → " + f.Callee
		}
		if f.Route != "" {
			route := f.Route
			if f.Method != "" && !strings.HasPrefix(route, f.Method+" ") {
				route = f.Method + " " + route
			}
			where += "  " + route
		}
		fmt.Fprintf(w, "\n%-6s  %-15s  %s\n", strings.ToUpper(f.Severity), f.Type, where)
		fmt.Fprintf(w, "        %s\n", f.Summary)
		if len(f.Examples) > 0 {
			fmt.Fprintf(w, "        e.g. %s\n", strings.Join(f.Examples, ", "))
		}
	}
	return nil
}
