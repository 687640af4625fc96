package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/config"
	"github.com/owlstack/owl/internal/shift"
	"github.com/owlstack/owl/internal/shift/shiftstore"
)

// newShiftCmd is the 'owl shift' group: progressive traffic shifting.
func newShiftCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "shift",
		Short: "Shift traffic progressively between two targets, with analysis and rollback",
		Long: `Shift traffic progressively from one target to another (ECS to EKS, cluster
to cluster) in steps, analysing each step and rolling back gradually.

The commands read and write the shift store directly: the SQLite file
shift/shift.db under --data, or the PostgreSQL database of --database. A
running controller ('owl serve --target=shift-controller', or 'owl up')
picks up new shifts and requests (pause, resume, promote, abort) on its next
tick. The same operations are in the controller's HTTP API.`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(newShiftStartCmd(e), newShiftStatusCmd(e), newShiftHistoryCmd(e),
		newShiftRequestCmd(e, shift.CmdPause, "Pause a shift at its current step"),
		newShiftRequestCmd(e, shift.CmdResume, "Resume a paused shift (at a pause point: go on to the next step)"),
		newShiftRequestCmd(e, shift.CmdPromote, "Move a shift to its next step now, skipping the rest of the hold and analysis"),
		newShiftRequestCmd(e, shift.CmdAbort, "Abort a shift: step its traffic back to the from side, gradually"),
	)
	cmd.AddCommand(newShiftEvalCmd(e))
	return cmd
}

// shiftCmdConfig is the configuration of the 'owl shift' commands.
type shiftCmdConfig struct {
	Data     string `yaml:"data" help:"folder for embedded state: the SQLite file shift/shift.db"`
	Database string `yaml:"database" help:"PostgreSQL URL (postgres://...) of the shift store instead of the SQLite file"`
}

// shiftCommand builds one 'owl shift' subcommand over the shift store.
func shiftCommand(e *env, use, short, long string, args cobra.PositionalArgs, run func(cmd *cobra.Command, args []string, store *shiftstore.Store) error) *cobra.Command {
	cfg := &shiftCmdConfig{Data: "./owl-data"}
	cmd := &cobra.Command{Use: use, Short: short, Long: long, Args: args}
	binding := config.Bind(cmd.Flags(), cfg)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := binding.Load(configPath(cmd, e), e.getenv); err != nil {
			return err
		}
		store, err := shiftstore.Open(cmd.Context(), cfg.Database, cfg.Data)
		if err != nil {
			return err
		}
		defer store.Close()
		return run(cmd, args, store)
	}
	return cmd
}

func oneName(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef(cmd, "want exactly one shift name, got %d arguments", len(args))
	}
	return nil
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newShiftStartCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := shiftCommand(e, "start SPEC.yaml", "Check a shift spec and start the shift",
		`Check the YAML spec strictly (unknown keys, wrong types and bad values are
reported as file:line) and store the shift as pending; a controller starts
moving traffic on its next tick. Names are unique: a finished shift keeps
its name and history.`,
		func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef(cmd, "want exactly one spec file, got %d arguments", len(args))
			}
			return nil
		},
		func(cmd *cobra.Command, args []string, store *shiftstore.Store) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			spec, err := shift.ParseSpec(args[0], data)
			if err != nil {
				return err
			}
			sh := shift.New(spec, time.Now())
			if err := store.Create(cmd.Context(), sh); err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(e.stdout, shift.StatusOf(sh))
			}
			_, err = fmt.Fprintf(e.stdout, "started shift %s: %s → %s in %d steps (%s) over %s\n", sh.Name, spec.From.Name, spec.To.Name,
				len(spec.Steps), percents(spec.Steps), spec.DataPlane.Kind)
			return err
		})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the new shift's status as JSON")
	return cmd
}

func percents(ps []float64) string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%g%%", p))
	}
	return strings.Join(out, ", ")
}

func newShiftStatusCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := shiftCommand(e, "status [NAME]", "Show every shift, or one",
		`Show each shift's state, step, verified split and the reason it is where it
is. --json prints the status JSON of the HTTP API: {"shifts":[...]} for all,
one status object for NAME.`,
		cobra.MaximumNArgs(1),
		func(cmd *cobra.Command, args []string, store *shiftstore.Store) error {
			ctx := cmd.Context()
			if len(args) == 1 {
				sh, err := store.Get(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSONTo(e.stdout, shift.StatusOf(sh))
				}
				return writeShiftDetail(e.stdout, sh)
			}
			shifts, err := store.List(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				out := struct {
					Shifts []shift.Status `json:"shifts"`
				}{Shifts: []shift.Status{}}
				for _, sh := range shifts {
					out.Shifts = append(out.Shifts, shift.StatusOf(sh))
				}
				return writeJSONTo(e.stdout, out)
			}
			if len(shifts) == 0 {
				_, err := fmt.Fprintln(e.stdout, "no shifts")
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tSTEP\tSPLIT\tSIDES\tREASON")
			for _, sh := range shifts {
				st := shift.StatusOf(sh)
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%g%%\t%s → %s\t%s\n", st.Name, st.State, st.Step, st.Steps, st.Percent, st.From, st.To, st.Reason)
			}
			return tw.Flush()
		})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func writeShiftDetail(w io.Writer, sh *shift.Shift) error {
	st := shift.StatusOf(sh)
	fmt.Fprintf(w, "shift %s: %s\n", st.Name, st.State)
	fmt.Fprintf(w, "  %s → %s over %s, steps %s\n", st.From, st.To, st.DataPlane, percents(sh.Spec.Steps))
	fmt.Fprintf(w, "  step %d of %d, split %s", st.Step, st.Steps, sh.Split)
	if st.TargetPercent != nil {
		fmt.Fprintf(w, " (writing to=%g%%)", *st.TargetPercent)
	}
	fmt.Fprintln(w)
	if st.Reason != "" {
		fmt.Fprintf(w, "  %s\n", st.Reason)
	}
	fmt.Fprintf(w, "  read-back mismatches repaired %d, split mismatches %d\n", st.ReadbackMismatches, st.SplitMismatches)
	if a := sh.Last; a != nil {
		fmt.Fprintf(w, "  last analysis at %s: %s: %s\n", a.At.Local().Format(time.DateTime), a.Verdict, a.Reason)
		for _, s := range []struct {
			name string
			m    shift.SideMetrics
		}{{st.From, a.From}, {st.To, a.To}} {
			fmt.Fprintf(w, "    %-10s %8d requests  %6.2f%% errors  p50 %.1f ms  p99 %.1f ms\n", s.name, s.m.Requests, s.m.ErrorRate*100, s.m.LatencyP50*1000, s.m.LatencyP99*1000)
		}
	}
	return nil
}

func newShiftHistoryCmd(e *env) *cobra.Command {
	var asJSON bool
	var limit int
	cmd := shiftCommand(e, "history NAME", "Show a shift's history: transitions, analyses, mismatches, requests",
		`Show the append-only history of a shift, oldest first: every transition,
analysis (with its verdict), repaired weight mismatch, hold and operator
request. --json prints {"events":[...]} as the HTTP API does.`,
		oneName,
		func(cmd *cobra.Command, args []string, store *shiftstore.Store) error {
			ctx := cmd.Context()
			if _, err := store.Get(ctx, args[0]); err != nil {
				return err
			}
			events, err := store.History(ctx, args[0], limit)
			if err != nil {
				return err
			}
			if asJSON {
				if events == nil {
					events = []shift.Event{}
				}
				return writeJSONTo(e.stdout, struct {
					Events []shift.Event `json:"events"`
				}{events})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tEVENT\tSTATE\tSTEP\tSPLIT\tREASON")
			for _, ev := range events {
				step := "-"
				if ev.Step >= 0 {
					step = fmt.Sprint(ev.Step + 1)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%g%%\t%s\n", ev.At.Local().Format(time.DateTime), ev.Kind, ev.State, step, ev.Split.Percent(), ev.Reason)
			}
			return tw.Flush()
		})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the history as JSON")
	cmd.Flags().IntVar(&limit, "limit", 0, "show only the last N events (0: all)")
	return cmd
}

func newShiftRequestCmd(e *env, c shift.Command, short string) *cobra.Command {
	var by string
	cmd := shiftCommand(e, string(c)+" NAME", short,
		short+`. The request is stored for the controller, which applies it
on its next tick and records it in the shift's history.`,
		oneName,
		func(cmd *cobra.Command, args []string, store *shiftstore.Store) error {
			if by == "" {
				if u, err := user.Current(); err == nil {
					by = u.Username
				}
			}
			r, err := store.Enqueue(cmd.Context(), args[0], c, by, time.Now())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s of shift %s requested (request %d); the controller applies it on its next tick\n", c, r.Shift, r.ID)
			return err
		})
	cmd.Flags().StringVar(&by, "by", "", "who asks, for the history (default: the user name)")
	return cmd
}
