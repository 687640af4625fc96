package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/owlstack/owl/internal/config"
	"github.com/owlstack/owl/internal/httpserver"
	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/logging"
	"github.com/owlstack/owl/internal/metrics"
	"github.com/owlstack/owl/internal/runner"
)

// target is one role an owl process can play under 'owl serve --target'.
type target struct {
	name        string
	description string
	// newConfig returns a pointer to the target's configuration struct,
	// filled with its defaults.
	newConfig func() any
	// start builds the target's components from its loaded configuration.
	start func(ctx context.Context, p *process, cfg any) error
}

// targets lists every target, in the order help shows them.
func targets() []target {
	return []target{
		{
			name:        "all",
			description: "every component in one process on embedded defaults (what 'owl up' runs)",
			newConfig:   func() any { return defaultAllConfig() },
			start:       func(ctx context.Context, p *process, cfg any) error { return startAll(ctx, p, cfg.(*allConfig)) },
		},
		smsWorkerTarget(),
		sessionTarget(),
		traceUITarget(),
		apiFrontTarget(),
		shiftProxyTarget(),
		shiftControllerTarget(),
	}
}

func targetNames() []string {
	var names []string
	for _, t := range targets() {
		names = append(names, t.name)
	}
	return names
}

func findTarget(name string) (target, bool) {
	for _, t := range targets() {
		if t.name == name {
			return t, true
		}
	}
	return target{}, false
}

// process is what every component of one owl process shares: its logger,
// metrics registry, readiness checks, the public mux, and the list of
// components and landing-page entries that the targets add to.
type process struct {
	log        *slog.Logger
	reg        *prometheus.Registry
	health     *httpserver.Health
	mux        *http.ServeMux
	stdout     io.Writer
	components []runner.Component
	entries    []landing.Entry
}

func newProcess(e *env, logCfg config.Log) (*process, error) {
	log, err := logging.New(e.stderr, logging.Options{Level: logCfg.Level, Format: logCfg.Format})
	if err != nil {
		return nil, err
	}
	return &process{
		log:    log,
		reg:    metrics.NewRegistry(versionString()),
		health: &httpserver.Health{},
		mux:    http.NewServeMux(),
		stdout: e.stdout,
	}, nil
}

// add registers a long-lived component and how the landing page shows it.
func (p *process) add(c runner.Component, e landing.Entry) {
	p.components = append(p.components, c)
	e.Name = c.Name
	p.entries = append(p.entries, e)
}

// targetFlags is the parsed command line of a command whose flags depend on
// the target it names: 'owl serve' and 'owl config print'.
type targetFlags struct {
	target  target
	cfg     any
	binding *config.Binding
	fs      *pflag.FlagSet
	help    bool
	config  string
}

// parseTargetFlags finds --target in args (or uses def when it is absent and
// def is not empty), then parses args against that target's flags.
func parseTargetFlags(cmd *cobra.Command, args []string, def string) (*targetFlags, error) {
	name := def
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--target="); ok {
			name = v
		} else if a == "--target" && i+1 < len(args) {
			name = args[i+1]
		}
	}
	tf := &targetFlags{fs: pflag.NewFlagSet(cmd.CommandPath(), pflag.ContinueOnError)}
	tf.fs.SetOutput(io.Discard)
	tf.fs.StringVar(&name, "target", name, "the role to run: "+strings.Join(targetNames(), ", "))
	tf.fs.StringVar(&tf.config, "config", "", "YAML configuration file (also OWL_CONFIG)")
	tf.fs.BoolVarP(&tf.help, "help", "h", false, "help for "+cmd.Name())
	t, ok := findTarget(name)
	switch {
	case ok:
		tf.target = t
		tf.cfg = t.newConfig()
		tf.binding = config.Bind(tf.fs, tf.cfg)
	case name == "":
		if hasHelp(args) {
			tf.help = true
			return tf, nil
		}
		return nil, usagef(cmd, "missing --target; valid targets: %s", strings.Join(targetNames(), ", "))
	default:
		return nil, usagef(cmd, "unknown target %q; valid targets: %s", name, strings.Join(targetNames(), ", "))
	}
	if err := tf.fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			tf.help = true
			return tf, nil
		}
		return nil, usagef(cmd, "%v; valid flags for target %s: %s", err, name, flagNames(tf.fs))
	}
	if tf.fs.NArg() > 0 {
		return nil, usagef(cmd, "unexpected argument %q", tf.fs.Arg(0))
	}
	return tf, nil
}

func hasHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-h" || a == "--help" {
			return true
		}
	}
	return false
}

// load applies the configuration file and environment to the target's config.
func (tf *targetFlags) load(e *env) error {
	path := tf.config
	if path == "" {
		path = e.getenv("OWL_CONFIG")
	}
	return tf.binding.Load(path, e.getenv)
}

// targetHelp writes the help of a target-dependent command: every target
// with its description and flags, or just the one named.
func targetHelp(w io.Writer, cmd *cobra.Command, only *target) {
	fmt.Fprintf(w, "%s\n\nUsage:\n  %s --target=NAME [flags]\n\nTargets:\n", cmd.Long, cmd.CommandPath())
	for _, t := range targets() {
		fmt.Fprintf(w, "  %-18s %s\n", t.name, t.description)
	}
	for _, t := range targets() {
		if only != nil && only.name != t.name {
			continue
		}
		fs := pflag.NewFlagSet(t.name, pflag.ContinueOnError)
		config.Bind(fs, t.newConfig())
		fmt.Fprintf(w, "\nFlags for --target=%s (each also settable as OWL_<FLAG> or in the --config file):\n%s", t.name, fs.FlagUsages())
	}
	fmt.Fprintf(w, "\nGlobal flags:\n      --config string   YAML configuration file (also OWL_CONFIG)\n  -h, --help            help for %s\n      --target string   the role to run: %s\n", cmd.Name(), strings.Join(targetNames(), ", "))
}

func newServeCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve --target=NAME [flags]",
		Short: "Run one owl role, as in a scaled deployment",
		Long: `Run one owl role (a target). In a scaled deployment every role runs as its
own replicas from the same binary; the target chooses what this process does.`,
		DisableFlagParsing: true,
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		tf, err := parseTargetFlags(cmd, args, "")
		if err != nil {
			return err
		}
		if tf.help {
			var only *target
			if tf.cfg != nil {
				only = &tf.target
			}
			targetHelp(e.stdout, cmd, only)
			return nil
		}
		if err := tf.load(e); err != nil {
			return err
		}
		return serve(cmd.Context(), e, tf.target, tf.cfg)
	}
	return cmd
}

// serve runs one target until ctx ends.
func serve(ctx context.Context, e *env, t target, cfg any) error {
	p, err := newProcess(e, logConfigOf(cfg))
	if err != nil {
		return err
	}
	if err := t.start(ctx, p, cfg); err != nil {
		return err
	}
	p.log.Info("owl started", "target", t.name, "version", versionString(), "pid", os.Getpid())
	err = runner.Run(ctx, p.log, stopTimeout, p.components...)
	if err == nil {
		p.log.Info("owl stopped", "target", t.name)
	}
	return err
}

// logConfigOf finds the log section of any target's configuration.
func logConfigOf(cfg any) config.Log {
	if l, ok := cfg.(interface{ logConfig() config.Log }); ok {
		return l.logConfig()
	}
	return config.DefaultLog()
}
