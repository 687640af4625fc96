package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/migrate"
	"github.com/owlstack/owl/internal/migrate/ecs"
)

// fleetSources says where the fleet view reads from.
type fleetSources struct {
	out, in, argocd, shifts string
}

func (s *fleetSources) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.out, "out", "", "output folder of 'owl migrate convert' (required)")
	f.StringVar(&s.in, "in", "", "folder of ECS JSON: its services missing from --out are 'not started'")
	f.StringVar(&s.argocd, "argocd", "", "Argo CD applications: a file of 'argocd app list -o json', or the API URL .../api/v1/applications (token in OWL_ARGOCD_TOKEN)")
	f.StringVar(&s.shifts, "shifts", "", "traffic shifts: a file, or the shift controller's URL .../api/v1/shifts (token in OWL_SHIFT_TOKEN)")
}

// load reads every source; getenv gives the API tokens.
func (s *fleetSources) load(ctx context.Context, getenv func(string) string) (*migrate.Fleet, error) {
	var in migrate.FleetInput
	var err error
	if in.Report, err = migrate.ReadReport(s.out); err != nil {
		return nil, err
	}
	if s.in != "" {
		ecsIn, err := ecs.ReadDir(s.in)
		if err != nil {
			return nil, err
		}
		in.NotConverted = migrate.Unconverted(ecsIn, in.Report)
	}
	if s.argocd != "" {
		b, err := fetchSource(ctx, s.argocd, getenv("OWL_ARGOCD_TOKEN"))
		if err != nil {
			return nil, fmt.Errorf("argo cd: %w", err)
		}
		if in.Apps, err = migrate.ParseArgoApps(b); err != nil {
			return nil, fmt.Errorf("%s: %w", s.argocd, err)
		}
	}
	if s.shifts != "" {
		b, err := fetchSource(ctx, s.shifts, getenv("OWL_SHIFT_TOKEN"))
		if err != nil {
			return nil, fmt.Errorf("shifts: %w", err)
		}
		if in.Shifts, err = migrate.ParseShifts(b); err != nil {
			return nil, fmt.Errorf("%s: %w", s.shifts, err)
		}
	}
	return migrate.BuildFleet(in), nil
}

// fetchSource reads a file, or GETs an http(s) URL with a bearer token.
func fetchSource(ctx context.Context, src, token string) ([]byte, error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return os.ReadFile(src)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", src, resp.Status)
	}
	return b, nil
}

func newMigrateFleetCmd(e *env) *cobra.Command {
	var src fleetSources
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "fleet --out DIR [--in DIR] [--argocd FILE|URL] [--shifts FILE|URL] [--json]",
		Short: "Show every service's migration phase, with counts per team",
		Long: `Show where every service of the fleet is in its migration, with its owner
team: not-started → generated → deployed (synced and healthy in a cell) →
shifting n% → done, or rolled-back. The phases come from the output folder of
'owl migrate convert', Argo CD's application status and the shift controller's
JSON status API (files or URLs); each source is optional except --out.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if src.out == "" {
				return usagef(cmd, "missing --out DIR: the output folder of 'owl migrate convert'")
			}
			f, err := src.load(cmd.Context(), e.getenv)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(f)
			}
			return writeFleetTable(e.stdout, f)
		},
	}
	src.bind(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the fleet as JSON")
	return cmd
}

// writeFleetTable prints the counts per team and phase, then every service.
func writeFleetTable(w io.Writer, f *migrate.Fleet) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "TEAM")
	for _, p := range migrate.Phases {
		fmt.Fprintf(tw, "\t%s", strings.ToUpper(string(p)))
	}
	fmt.Fprintln(tw)
	teams := make([]string, 0, len(f.Teams))
	for t := range f.Teams {
		teams = append(teams, t)
	}
	slices.Sort(teams)
	for _, t := range append(teams, "all") {
		counts := f.Teams[t]
		if t == "all" {
			counts = f.Phases
		}
		fmt.Fprint(tw, t)
		for _, p := range migrate.Phases {
			fmt.Fprintf(tw, "\t%d", counts[p])
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "SERVICE\tTEAM\tPHASE\tDETAIL")
	for _, s := range f.Services {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Service, s.Team, s.Phase, s.Detail)
	}
	return tw.Flush()
}
