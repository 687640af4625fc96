package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/httpserver"
	"github.com/owlstack/owl/internal/logging"
	"github.com/owlstack/owl/internal/metrics"
	"github.com/owlstack/owl/internal/tracectx"
	"github.com/owlstack/owl/internal/tracing"
	"github.com/owlstack/owl/internal/tracing/jaeger"
	"github.com/owlstack/owl/internal/tracing/otlp"
	"github.com/owlstack/owl/internal/tracing/stitch"
	"github.com/owlstack/owl/internal/tracing/synth"
	"github.com/owlstack/owl/internal/tracing/w3c"
)

// traceUserHeader is the request header whose keyed hash owl services log
// as user_hash.
const traceUserHeader = "X-Owl-User"

// startTracing gives process p trace propagation and access logs with the
// default trace settings (tracectx.DefaultConfig): records go to
// DATA/logs/access.jsonl, hashed with the key kept in DATA/trace/hash.key.
func startTracing(p *process, data string) (*tracectx.Tracer, error) {
	cfg := tracectx.DefaultConfig("owl")
	cfg.UserHeader = traceUserHeader
	return startTracer(context.Background(), p, cfg, data)
}

// loadOrCreateKey reads a 32-byte key, or creates it (atomically) when the
// file does not exist yet.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) < 16 {
			return nil, fmt.Errorf("%s: %d bytes, want at least 16", path, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key = make([]byte, 32)
	rand.Read(key)
	if err := writeFileAtomic(path, func(w io.Writer) error { _, err := w.Write(key); return err }, 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// writeFileAtomic writes path through a temporary file in the same folder
// and renames it into place, so that readers never see half a file.
func writeFileAtomic(path string, write func(io.Writer) error, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func newTraceCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Stitch access logs into call trees, show them, simulate traffic",
		Long: `Always-on request tracing: every owl service propagates X-Amzn-Trace-Id and
W3C trace context and writes an access-log line per request; these commands
stitch ALB and application logs into call trees and show them.`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(newTraceStitchCmd(e), newTraceShowCmd(e), newTraceSynthCmd(e), newTraceW3CCmd(e))
	cmd.AddCommand(newTraceRCACmd(e), newTraceRCAEvalCmd(e))
	cmd.AddCommand(newTraceGraphCmd(e), newTraceFindingsCmd(e))
	return cmd
}

// traceSink is a stitch.Sink that is closed at the end.
type traceSink interface {
	stitch.Sink
	Close() error
}

type owlSink struct{ *tracing.Writer }

func (s owlSink) Close() error { return s.Flush() }

func newSink(format string, w io.Writer) traceSink {
	switch format {
	case "jaeger":
		return jaeger.NewWriter(w)
	case "otlp":
		return otlp.NewWriter(w)
	}
	return owlSink{tracing.NewWriter(w)}
}

func newTraceStitchCmd(e *env) *cobra.Command {
	var alb, app []string
	var out, format, tmp string
	var memMB int
	cmd := &cobra.Command{
		Use:   "stitch [--alb FILE|DIR]... [--app FILE|DIR]... --out FILE [--format owl|jaeger|otlp]",
		Short: "Build call trees from ALB and application access logs",
		Long: `Build one call tree per trace from AWS ALB access logs (plain or gzipped, as
AWS names them) and owl access logs (JSON lines). Folders are read
recursively. Lines may come in any order and more than once; logs may be far
bigger than memory (sorted runs are spilled to --tmp). Malformed lines are
counted and reported with file:line, never fatal.

Formats: owl (one JSON trace per line, what 'owl trace show' reads), jaeger
(a JSON file the Jaeger UI loads), otlp (OTLP JSON, one TracesData per line).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef(cmd, "missing --out FILE")
			}
			if !slices.Contains([]string{"owl", "jaeger", "otlp"}, format) {
				return usagef(cmd, "--format %q: valid formats: owl, jaeger, otlp", format)
			}
			if len(alb) == 0 && len(app) == 0 {
				return usagef(cmd, "no input: give --alb and/or --app files or folders")
			}
			albFiles, albSize, err := expandInputs(alb)
			if err != nil {
				return err
			}
			appFiles, appSize, err := expandInputs(app)
			if err != nil {
				return err
			}
			bar := newByteProgress(e.stderr, "stitch", albSize+appSize)
			var sum *stitch.Summary
			err = writeFileAtomic(out, func(w io.Writer) error {
				sink := newSink(format, w)
				var err error
				sum, err = stitch.Stitch(cmd.Context(), albFiles, appFiles, sink, stitch.Options{
					TempDir: tmp, MemBytes: int64(memMB) << 20, Progress: bar.set,
				})
				if err != nil {
					return err
				}
				return sink.Close()
			}, 0o644)
			bar.done()
			if err != nil {
				return fmt.Errorf("stitch: %w", err)
			}
			for _, p := range sum.Problems {
				fmt.Fprintf(e.stderr, "owl: warning: %s\n", p)
			}
			if n := sum.Malformed - int64(len(sum.Problems)); n > 0 {
				fmt.Fprintf(e.stderr, "owl: warning: ... and %d more malformed lines\n", n)
			}
			fmt.Fprintf(e.stdout, "read %d lines from %d files (%d ALB, %d app): %d parsed, %d malformed, %d without a trace, %d duplicates\n",
				sum.Lines, sum.Files, sum.ALBLines, sum.AppLines, sum.Parsed, sum.Malformed, sum.NoTrace, sum.Duplicates)
			fmt.Fprintf(e.stdout, "wrote %d traces (%d spans, %d unmatched, %d clock skews corrected) to %s as %s\n",
				sum.Traces, sum.Spans, sum.Unmatched, sum.Skewed, out, format)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&alb, "alb", nil, "ALB access log files or folders (repeatable)")
	f.StringSliceVar(&app, "app", nil, "owl access log files or folders (repeatable)")
	f.StringVar(&out, "out", "", "output file (written atomically)")
	f.StringVar(&format, "format", "owl", "output format: owl, jaeger or otlp")
	f.StringVar(&tmp, "tmp", "", "folder for sorted runs (default: the system's temporary folder)")
	f.IntVar(&memMB, "mem", 64, "memory budget in MiB before sorted runs are spilled to disk")
	return cmd
}

// expandInputs lists the files named, reading folders recursively, and
// sums their sizes for the progress bar.
func expandInputs(paths []string) ([]string, int64, error) {
	var files []string
	var size int64
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, path)
			size += info.Size()
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	return files, size, nil
}

func newTraceShowCmd(e *env) *cobra.Command {
	var in string
	cmd := &cobra.Command{
		Use:   "show ROOT --in FILE",
		Short: "Show one trace as a tree, with its critical path",
		Long: `Show the call tree of one trace from a file 'owl trace stitch' wrote (owl
format): service, route, status, duration and bytes of every span, '*' on
the critical path, '!' on spans whose parent is missing. ROOT is the trace
root (1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx) or the 32-hex trace id.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef(cmd, "want one trace root, got %d arguments", len(args))
			}
			if in == "" {
				return usagef(cmd, "missing --in FILE")
			}
			want := args[0]
			id, err := tracectx.ParseRoot(want)
			if err != nil {
				if id, err = tracectx.ParseTraceID(strings.ToLower(want)); err != nil {
					return usagef(cmd, "%q is neither a trace root (1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx) nor a 32-hex trace id", want)
				}
			}
			f, err := os.Open(in)
			if err != nil {
				return err
			}
			defer f.Close()
			r := tracing.NewReader(f, in)
			for {
				t, err := r.Next()
				if errors.Is(err, io.EOF) {
					return fmt.Errorf("trace %s not found in %s", id.Root(), in)
				}
				if err != nil {
					return err
				}
				if t.TraceID == id.String() {
					return tracing.WriteTree(e.stdout, t)
				}
			}
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "traces in owl format, as 'owl trace stitch' writes them")
	return cmd
}

func newTraceSynthCmd(e *env) *cobra.Command {
	var services, requests int
	var faults, incident, patterns, out string
	var incidentAt time.Duration
	var callProb float64
	var seed uint64
	cmd := &cobra.Command{
		Use:   "synth --services N --requests M [--faults SPEC] [--patterns SPEC] [--incident SPEC --incident-at D] [--seed S] --out DIR",
		Short: "Simulate a microservice fleet: ALB logs, access logs and the true trees",
		Long: `Simulate N services behind AWS load balancers serving M user requests, and
write what they would log: DIR/alb/ (gzipped ALB access logs named as AWS
names them), DIR/app/SERVICE.jsonl (owl access logs) and DIR/truth.jsonl
(the true call trees in owl format). Same flags, same bytes.

--faults is a ';'-separated list of:
  latency:svc=NAME,ms=N        NAME takes N ms longer to answer
  errors:svc=NAME,rate=R       NAME answers 500 to a share R (0..1) of requests
  skew:svc=NAME,ms=N           NAME's clock is N ms ahead (negative: behind)
  uncompressed:svc=NAME        NAME answers without compression
  slowdep:svc=NAME,ms=N        NAME's DynamoDB calls take N ms longer
  retries:svc=NAME,rate=R      NAME fails a share R of calls; its callers retry
  timeout:svc=NAME,ms=N        NAME is N ms slower; callers time out at N/2 per hop
  spikes:svc=NAME,ms=N,rate=R  a share R of NAME's answers take about N ms more
--incident takes the same list: those faults start --incident-at after the
first request (a baseline, then an incident, for 'owl trace rca').

--patterns is a ';'-separated list of call patterns the analyses find:
  repeat:svc=A,to=B,n=N        A calls B N times with identical arguments
  nplus1:svc=A,to=B,n=N        A calls B once per item, N items
  netdelay:svc=A,to=B,ms=N     the network between A and B adds N ms
Service names: api, session, course, user, streak, cart, payment, sms,
search, notify, profile, league, shop, ads, asset, then svc15, svc16, ...`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef(cmd, "missing --out DIR")
			}
			if services < 1 || requests < 0 {
				return usagef(cmd, "--services must be at least 1 and --requests at least 0")
			}
			fs, err := synth.ParseFaults(faults)
			if err != nil {
				return usagef(cmd, "--faults: %v", err)
			}
			cfg := synth.Config{Services: services, Requests: requests, Faults: fs, Seed: seed, CallProb: callProb}
			if cfg.IncidentFaults, err = synth.ParseFaults(incident); err != nil {
				return usagef(cmd, "--incident: %v", err)
			}
			if len(cfg.IncidentFaults) > 0 {
				if incidentAt <= 0 {
					return usagef(cmd, "--incident needs --incident-at, the time after the first request when it starts")
				}
				cfg.IncidentAt = synth.DefaultStart().Add(incidentAt)
			}
			if cfg.Patterns, err = synth.ParsePatterns(patterns); err != nil {
				return usagef(cmd, "--patterns: %v", err)
			}
			if callProb < 0 || callProb > 1 {
				return usagef(cmd, "--call-prob must be between 0 and 1")
			}
			sum, err := synth.Write(out, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "simulated %d requests (%d spans) across %d services (%s)\n", sum.Requests, sum.Spans, len(sum.Services), strings.Join(sum.Services, ", "))
			fmt.Fprintf(e.stdout, "wrote %s (%d lines), %s (%d lines) and %s\n",
				filepath.Join(out, "alb"), sum.ALBLines, filepath.Join(out, "app"), sum.AppLines, filepath.Join(out, "truth.jsonl"))
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&services, "services", 8, "number of services")
	f.IntVar(&requests, "requests", 1000, "number of user requests")
	f.StringVar(&faults, "faults", "", "faults to inject, e.g. latency:svc=cart,ms=300;errors:svc=payment,rate=0.2")
	f.StringVar(&incident, "incident", "", "faults that start at --incident-at, in the --faults syntax")
	f.DurationVar(&incidentAt, "incident-at", 0, "when the --incident faults start, after the first request (e.g. 30s)")
	f.StringVar(&patterns, "patterns", "", "call patterns, e.g. repeat:svc=cart,to=user,n=3;nplus1:svc=api,to=profile,n=6")
	f.Float64Var(&callProb, "call-prob", 0, "chance that a service makes each downstream call; 0 means always")
	f.Uint64Var(&seed, "seed", 1, "random seed: the same seed gives the same output")
	f.StringVar(&out, "out", "", "output folder (must not exist or be empty)")
	return cmd
}

func newTraceW3CCmd(e *env) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "w3c-service [--addr ADDR]",
		Short: "Serve the W3C trace-context test suite's service protocol at POST /test",
		Long: `Run the service the W3C trace-context test suite (github.com/w3c/trace-context,
test/) drives: at POST /test it takes a JSON array of {"url", "arguments"}
and POSTs each arguments to its url, propagating the trace context with
owl's middleware and client. Run the suite against http://ADDR/test.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logging.New(e.stderr, logging.Options{})
			if err != nil {
				return err
			}
			reg := metrics.NewRegistry(versionString())
			t, err := tracectx.New(tracectx.Options{Service: "w3c-service", HashKey: []byte("owl w3c-service: no secrets here"), Registerer: reg})
			if err != nil {
				return err
			}
			ln, err := httpserver.Listen(addr)
			if err != nil {
				return err
			}
			opts := httpserver.DefaultOptions
			opts.Trace = t
			srv := httpserver.New("w3c-service", ln, w3c.Handler(t.Client(10*time.Second)), opts, reg, nil, log)
			fmt.Fprintf(e.stdout, "w3c-service listening on %s/test\n", srv.URL())
			return srv.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:5000", "listen address")
	return cmd
}

// byteProgress draws a bar on stderr when it is a terminal, and nothing
// otherwise (piped output stays clean).
type byteProgress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	total int64
	last  time.Time
	on    bool
}

func newByteProgress(w io.Writer, label string, total int64) *byteProgress {
	return &byteProgress{w: w, label: label, total: total, on: logging.IsTerminal(w) && total > 0}
}

func (p *byteProgress) set(done int64) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || done >= p.total {
		p.last = now
		frac := min(float64(done)/float64(p.total), 1)
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%%  %s / %s ", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, mib(done), mib(p.total))
	}
}

func (p *byteProgress) done() {
	if p.on {
		fmt.Fprintf(p.w, "\r\033[K")
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
