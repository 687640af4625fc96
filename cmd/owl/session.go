package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/memory"
	"github.com/owlstack/owl/internal/session"
)

func newSessionCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "session",
		Short: "Generate personalised lesson sessions from compiled courses",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(newSessionGenerateCmd(e))
	return cmd
}

func newSessionGenerateCmd(e *env) *cobra.Command {
	var (
		coursePath, skill, userPath, nowText string
		seed                                 uint64
		length                               int
		asJSON                               bool
	)
	cmd := &cobra.Command{
		Use:   "generate --course FILE.owlc --skill ID [--user FILE] [--seed N]",
		Short: "Generate one session and print it as a table or JSON",
		Long: `Generate one session from a compiled course (owl course compile) for a
learner whose state is read from --user (the "user" object of POST
/v1/sessions: {"id","settings":{...},"words":[...]}); without --user, for a
new learner. --skill is a skill's YAML Id, or "practice" for a review
session. The same course, user, --seed and --now give the same session.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if coursePath == "" {
				return usagef(cmd, "--course is required")
			}
			if skill == "" {
				return usagef(cmd, "--skill is required (a skill Id, or %q)", session.Practice)
			}
			now := time.Now()
			if nowText != "" {
				t, err := time.Parse(time.RFC3339Nano, nowText)
				if err != nil {
					return usagef(cmd, "--now %q is not an RFC 3339 time", nowText)
				}
				now = t
			}
			data, err := os.ReadFile(coursePath)
			if err != nil {
				return err
			}
			c, err := snapshot.Load(data)
			if err != nil {
				return fmt.Errorf("%s: %w", coursePath, err)
			}
			var user session.User
			if userPath != "" {
				if user, err = readUser(userPath); err != nil {
					return err
				}
			}
			gen := session.New(memory.NewFSRS(memory.FSRS6Defaults))
			s, err := gen.Generate(c, session.Request{Skill: skill, Length: length, Seed: seed, Now: now, User: user})
			var fe *session.FieldError
			if errors.As(err, &fe) {
				switch fe.Field {
				case "skill", "length":
					return usagef(cmd, "--%s: %s", fe.Field, fe.Msg)
				}
				return fmt.Errorf("%s: %w", userPath, err)
			}
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			return writeSessionTable(e, s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&coursePath, "course", "", "compiled course snapshot (.owlc)")
	f.StringVar(&skill, "skill", "", `skill Id, or "practice"`)
	f.StringVar(&userPath, "user", "", "JSON file with the learner's state; a new learner when absent")
	f.Uint64Var(&seed, "seed", 0, "seed of the choices among equals")
	f.IntVar(&length, "length", 0, fmt.Sprintf("challenges wanted, 1 to %d (default: the user's preferred length, else %d)", session.MaxLength, session.DefaultLength))
	f.StringVar(&nowText, "now", "", "RFC 3339 time the session is for (default: now)")
	f.BoolVar(&asJSON, "json", false, "print the session as JSON, as POST /v1/sessions answers")
	return cmd
}

// readUser reads a user state file, strictly: unknown fields are errors.
func readUser(path string) (session.User, error) {
	var u session.User
	data, err := os.ReadFile(path)
	if err != nil {
		return u, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil {
		return u, fmt.Errorf("%s: %w", path, err)
	}
	if err := u.Validate(); err != nil {
		return u, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

func writeSessionTable(e *env, s *session.Session) error {
	level := "complete or practice"
	if s.Level > 0 {
		level = fmt.Sprintf("new material of level %d", s.Level)
	}
	fmt.Fprintf(e.stdout, "session %s: course %s, skill %s, %s, %d challenges\n", s.ID, s.Course, s.Skill, level, len(s.Challenges))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tTYPE\tCHALLENGE\tSKILL\tWHY")
	for _, r := range sessionRows(s) {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.N, r.Type, r.Prompt, r.Skill, r.Why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.ShortBy > 0 {
		_, err := fmt.Fprintf(e.stdout, "short by %d: the course has no more eligible challenges for this learner\n", s.ShortBy)
		return err
	}
	return nil
}
