package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/memory"
)

func newMemoryCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "memory",
		Short: "Synthesise learning traces, train and evaluate the recall models",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(newMemorySynthCmd(e), newMemoryEvalCmd(e), newMemoryTrainCmd(e), newMemoryAttachCmd(e))
	return cmd
}

func newMemorySynthCmd(e *env) *cobra.Command {
	var (
		out   string
		users int
		seed  uint64
	)
	cmd := &cobra.Command{
		Use:   "synth --users N --out traces.csv",
		Short: "Write synthetic review logs in the 12-column format of Duolingo's HLR dataset",
		Long: `Write synthetic review logs in the 12-column format of Duolingo's public
half-life regression dataset, drawn from a ground-truth forgetting model that
is neither HLR's nor FSRS's: ACT-R base-level activation, with per-user
ability and decay, per-word difficulty and per-answer noise (documented in
internal/memory/synth.go).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef(cmd, "--out is required")
			}
			if users < 1 {
				return usagef(cmd, "--users must be at least 1, got %d", users)
			}
			tmp, err := os.CreateTemp(filepath.Dir(out), ".synth-*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			w := bufio.NewWriterSize(tmp, 1<<20)
			n, err := memory.Synth(w, memory.SynthOptions{Users: users, Seed: seed})
			if err == nil {
				err = w.Flush()
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s: %d rows for %d users\n", out, n, users)
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "CSV file to write")
	cmd.Flags().IntVar(&users, "users", 1000, "number of users")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed; the same seed writes the same file")
	return cmd
}

// hlrFlags are the training settings of half-life regression.
type hlrFlags struct {
	opts memory.HLROptions
}

func (h *hlrFlags) bind(cmd *cobra.Command) {
	d := memory.EvalHLRDefaults
	h.opts = d
	cmd.Flags().Float64Var(&h.opts.LearningRate, "hlr-rate", d.LearningRate, "HLR learning rate")
	cmd.Flags().Float64Var(&h.opts.HalfLifeWt, "hlr-alpha", d.HalfLifeWt, "HLR weight α of the half-life term of the loss")
	cmd.Flags().Float64Var(&h.opts.L2Wt, "hlr-lambda", d.L2Wt, "HLR L2 weight λ")
	cmd.Flags().IntVar(&h.opts.Epochs, "hlr-epochs", d.Epochs, "passes over the training rows")
}

func traceOpener(path string) memory.Open {
	return func() (io.ReadCloser, error) { return os.Open(path) }
}

func newMemoryEvalCmd(e *env) *cobra.Command {
	var (
		traces, split string
		testPercent   int
		seed          uint64
		asJSON        bool
		hlr           hlrFlags
	)
	cmd := &cobra.Command{
		Use:   "eval --traces FILE [--split user]",
		Short: "Train on some users and compare every recall model on the others",
		Long: `Train HLR and the constant model on a training split of users (80/20 by user,
seeded) and print, for HLR, FSRS, Leitner, Pimsleur and the constant model,
MAE, log loss (against the fractional p_recall), AUC (rows with every answer
right against the others) and a calibration table, on the held-out users.
The file is read as a stream, twice; the real dataset file works as is.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if traces == "" {
				return usagef(cmd, "--traces is required")
			}
			if split != "user" {
				return usagef(cmd, "--split %q: only \"user\" is supported", split)
			}
			rep, err := memory.Evaluate(traceOpener(traces), memory.EvalOptions{TestPercent: testPercent, Seed: seed, HLR: hlr.opts})
			if err != nil {
				return fmt.Errorf("%s: %w", traces, err)
			}
			if asJSON {
				out := struct {
					TrainRows int                            `json:"train_rows"`
					TestRows  int                            `json:"test_rows"`
					Models    map[string]*memory.ModelReport `json:"models"`
				}{rep.TrainRows, rep.TestRows, rep.Models}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			fmt.Fprintf(e.stdout, "%d training rows, %d held-out rows (%d%% of users)\n", rep.TrainRows, rep.TestRows, testPercent)
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MODEL\tMAE\tLOGLOSS\tAUC")
			for _, name := range rep.Ranked() {
				m := rep.Models[name]
				fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\n", name, m.MAE, m.LogLoss, m.AUC)
			}
			fmt.Fprintln(tw, "\nCALIBRATION\tN\tPREDICTED\tOBSERVED\tMODEL")
			for _, name := range memory.ModelNames {
				for _, c := range rep.Models[name].Calibration {
					if c.N > 0 {
						fmt.Fprintf(tw, "%.1f-%.1f\t%d\t%.3f\t%.3f\t%s\n", c.From, c.To, c.N, c.MeanPredicted, c.MeanObserved, name)
					}
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&traces, "traces", "", "CSV file in the 12-column format of Duolingo's HLR dataset")
	cmd.Flags().StringVar(&split, "split", "user", "how to split training and held-out rows: user")
	cmd.Flags().IntVar(&testPercent, "test-percent", 20, "share of users held out")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the split")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: {\"models\":{\"hlr\":{\"mae\":..,\"logloss\":..,\"auc\":..},...}}")
	hlr.bind(cmd)
	return cmd
}

func newMemoryTrainCmd(e *env) *cobra.Command {
	var (
		traces, out string
		hlr         hlrFlags
	)
	cmd := &cobra.Command{
		Use:   "train --traces FILE --out hlr.json",
		Short: "Fit half-life regression weights on every row of a trace file",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if traces == "" || out == "" {
				return usagef(cmd, "--traces and --out are required")
			}
			m, rows, err := memory.TrainHLRFile(traceOpener(traces), hlr.opts)
			if err != nil {
				return fmt.Errorf("%s: %w", traces, err)
			}
			data, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s: HLR weights %.4f (bias, √correct, √wrong) and %d lexemes from %d rows\n", out, m.Weights, len(m.Lexemes), rows)
			return err
		},
	}
	cmd.Flags().StringVar(&traces, "traces", "", "CSV file in the 12-column format of Duolingo's HLR dataset")
	cmd.Flags().StringVar(&out, "out", "", "JSON file for the weights")
	hlr.bind(cmd)
	return cmd
}

func newMemoryAttachCmd(e *env) *cobra.Command {
	var course, weights, out string
	cmd := &cobra.Command{
		Use:   "attach --course FILE.owlc --weights hlr.json --out FILE.owlc",
		Short: "Publish HLR weights (owl memory train) inside a compiled course snapshot",
		Long: `Write a copy of a compiled course snapshot with the half-life regression
weights of 'owl memory train' inside it; publish that snapshot like any other.
At serve time the generator ranks words that carry answer counts but no FSRS
state with these weights. The same snapshot and weights give the same bytes.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if course == "" || weights == "" || out == "" {
				return usagef(cmd, "--course, --weights and --out are required")
			}
			m, err := readHLR(weights)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(course)
			if err != nil {
				return err
			}
			snap, err := snapshot.WithHLR(data, m)
			if err != nil {
				return fmt.Errorf("%s: %w", course, err)
			}
			if err := writeFileAtomic(out, func(w io.Writer) error { _, err := w.Write(snap); return err }, 0o644); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s: %s with HLR weights %.4f and %d lexemes\n", out, course, m.Weights, len(m.Lexemes))
			return err
		},
	}
	cmd.Flags().StringVar(&course, "course", "", "compiled course snapshot (.owlc)")
	cmd.Flags().StringVar(&weights, "weights", "", "HLR weights written by owl memory train")
	cmd.Flags().StringVar(&out, "out", "", "snapshot file to write")
	return cmd
}

// readHLR reads HLR weights, strictly: unknown fields are errors.
func readHLR(path string) (*memory.HLR, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var m memory.HLR
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}
