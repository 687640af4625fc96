package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/logging"
	"github.com/owlstack/owl/internal/shift/analysis"
	"github.com/owlstack/owl/internal/shift/shifteval"
)

// newShiftEvalCmd is 'owl shift eval': the shift analysis measured on
// simulated canaries.
func newShiftEvalCmd(e *env) *cobra.Command {
	var (
		cases  int
		seed   uint64
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure shift analysis on simulated canaries: false rollbacks, missed regressions, time to decision",
		Long: `eval simulates many canary shifts through the steps 1, 5, 10, 25, 50 and 100%
(10 s intervals, at least 60 s per step, a check every 30 s, 15 min before a
step times out and rolls back), healthy ones and ones with a regression on
the new side (latency +20% or x2, error rate +0.5 or +5 points), over noisy
baselines (diurnal load, heavy-tailed latency, per-instance variation). It
runs the shift controller's own analysis with its default settings and
reports the share of healthy shifts rolled back, the share of each
regression promoted, and the median simulated time to a decision.
Case i is healthy when i mod 5 is 0. The same --seed gives the same report.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cases < 1 {
				return usagef(cmd, "--cases must be at least 1, got %d", cases)
			}
			opt := shifteval.Options{
				Cases:    cases,
				Seed:     seed,
				Analysis: analysis.DefaultConfig(),
				Schedule: shifteval.DefaultSchedule(),
			}
			term := logging.IsTerminal(e.stderr)
			if term {
				opt.Progress = func(done, total int) {
					if done%50 == 0 || done == total {
						fmt.Fprintf(e.stderr, "\rsimulated %d/%d shifts", done, total)
					}
				}
			}
			r, err := shifteval.Run(cmd.Context(), opt)
			if term {
				fmt.Fprint(e.stderr, "\r\033[K")
			}
			if err != nil {
				return err
			}
			if asJSON {
				b, err := json.Marshal(r)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "%s\n", b)
				return err
			}
			return writeEvalReport(e, r, seed)
		},
	}
	cmd.Flags().IntVar(&cases, "cases", 2000, "number of shifts to simulate")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"cases","false_rollback_rate","missed_regression_rate","median_decision_seconds"} as JSON`)
	return cmd
}

// writeEvalReport prints the evaluation as a table of outcomes per kind.
func writeEvalReport(e *env, r shifteval.Report, seed uint64) error {
	type row struct{ promoted, rolledBack, timedOut int }
	rows := map[string]*row{}
	for _, c := range r.Results {
		name := c.Regression
		if name == "" {
			name = "healthy"
		}
		if rows[name] == nil {
			rows[name] = &row{}
		}
		switch c.Outcome {
		case shifteval.Promoted:
			rows[name].promoted++
		case shifteval.RolledBack:
			rows[name].rolledBack++
		case shifteval.TimedOut:
			rows[name].timedOut++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "simulated %d shifts (seed %d)\n", r.Cases, seed)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "kind\tpromoted\trolled back\ttimed out\twrong")
	kinds := []string{"healthy"}
	for _, reg := range shifteval.Regressions {
		kinds = append(kinds, reg.Name)
	}
	for _, k := range kinds {
		c := rows[k]
		if c == nil {
			continue
		}
		wrong := c.promoted
		if k == "healthy" {
			wrong = c.rolledBack + c.timedOut
		}
		n := c.promoted + c.rolledBack + c.timedOut
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f%%\n", k, c.promoted, c.rolledBack, c.timedOut, 100*float64(wrong)/float64(n))
	}
	tw.Flush()
	fmt.Fprintf(&b, "false rollback rate %.2f%% (goal <= 1%%), missed x2 latency regressions %.2f%% (goal <= 5%%), median time to decision %.0f s\n",
		100*r.FalseRollbackRate, 100*r.MissedRegressionRate["latency_x2"], r.MedianDecisionSeconds)
	_, err := fmt.Fprint(e.stdout, b.String())
	return err
}
