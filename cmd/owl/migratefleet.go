package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/migrate"
)

func bindFleetSources(cmd *cobra.Command, s *migrate.FleetSources) {
	f := cmd.Flags()
	f.StringVar(&s.Out, "out", "", "output folder of 'owl migrate convert' (required)")
	f.StringVar(&s.In, "in", "", "folder of ECS JSON: its services missing from --out are 'not started'")
	f.StringVar(&s.ArgoCD, "argocd", "", "Argo CD applications: a file of 'argocd app list -o json', or the API URL .../api/v1/applications (token in OWL_ARGOCD_TOKEN)")
	f.StringVar(&s.Shifts, "shifts", "", "traffic shifts: a file, or the shift controller's URL .../api/v1/shifts (token in OWL_SHIFT_TOKEN)")
}

func newMigrateFleetCmd(e *env) *cobra.Command {
	var src migrate.FleetSources
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
			if src.Out == "" {
				return usagef(cmd, "missing --out DIR: the output folder of 'owl migrate convert'")
			}
			src.ArgoCDToken, src.ShiftsToken = e.getenv("OWL_ARGOCD_TOKEN"), e.getenv("OWL_SHIFT_TOKEN")
			f, errs := src.Load(cmd.Context())
			if len(errs) > 0 {
				return errors.Join(errs...)
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(f)
			}
			return writeFleetTable(e.stdout, f)
		},
	}
	bindFleetSources(cmd, &src)
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
