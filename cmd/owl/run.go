package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// env is what a command may use of the outside world; tests pass their own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run executes the owl command line in args (without the program name).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct {
	cmd string // the command path, e.g. "owl serve"
	err error
}

func (u *usageError) Error() string { return u.err.Error() }
func (u *usageError) Unwrap() error { return u.err }

func usagef(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{cmd: cmd.CommandPath(), err: fmt.Errorf(format, args...)}
}

// exitCode reports err on stderr and maps it to the process exit status:
// 0 for success, 2 for a usage mistake, 1 for any other failure.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "owl: %v\n", err)
	var u *usageError
	if errors.As(err, &u) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", u.cmd)
		return 2
	}
	return 1
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "owl",
		Short: "Session generation, request tracing, SMS batches and traffic shifting in one binary",
		Long: `owl is one binary for four systems: a session generator that serves
personalised lessons from compiled courses, always-on request tracing from
trace headers and access logs, a nightly streak SMS batch for users with
encrypted phone numbers, and migration with progressive traffic shifting.

'owl up' runs everything in one process on embedded defaults.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE:          groupRun,
	}
	root.PersistentFlags().String("config", "", "YAML configuration file (also OWL_CONFIG)")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newUpCmd(e),
		newServeCmd(e),
		newConfigCmd(e),
		newVersionCmd(e),
		newCourseCmd(e),
		newTraceCmd(e),
		newSMSCmd(e),
		newMigrateCmd(e),
		newSessionCmd(e),
		newMemoryCmd(e),
		newShiftCmd(e),
	)
	return root
}

// groupRun is the action of a command that only groups subcommands: it shows
// help, or names an unknown subcommand and the valid ones.
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return usagef(cmd, "unknown command %q for %q; valid commands: %s", args[0], cmd.CommandPath(), strings.Join(names, ", "))
}

// flagError turns a flag parsing error into a usage error that lists the
// command's flags.
func flagError(cmd *cobra.Command, err error) error {
	return usagef(cmd, "%v; valid flags: %s", err, flagNames(cmd.Flags()))
}

func flagNames(fs *pflag.FlagSet) string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, "--"+f.Name)
		}
	})
	return strings.Join(names, ", ")
}

// configPath is the --config flag, or OWL_CONFIG when the flag is absent.
func configPath(cmd *cobra.Command, e *env) string {
	if p, _ := cmd.Flags().GetString("config"); p != "" {
		return p
	}
	return e.getenv("OWL_CONFIG")
}

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the owl version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(e.stdout, "owl %s %s %s/%s\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef(cmd, "unexpected argument %q", args[0])
	}
	return nil
}
