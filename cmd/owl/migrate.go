package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/migrate"
	"github.com/owlstack/owl/internal/migrate/ecs"
	ecssynth "github.com/owlstack/owl/internal/migrate/synth"
)

func newMigrateCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Convert ECS services into Kustomize cells and Argo CD GitOps manifests",
		Long: `Convert Amazon ECS task definitions and services, as the AWS API returns
them, into Kubernetes manifests: a Kustomize base per service, an overlay per
cell, an Argo CD ApplicationSet per service, and a report of every ECS field
that was mapped, approximated or could not be mapped.`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(newMigrateConvertCmd(e), newMigratePlanCmd(e), newMigrateEphemeralCmd(e), newMigrateSynthCmd(e), newMigrateFleetCmd(e))
	return cmd
}

// convertFlags are the flags of the commands that convert a fleet.
type convertFlags struct {
	in, out, mapping string
	strict           bool
}

func (c *convertFlags) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.in, "in", "", "folder of ECS JSON: describe-task-definition, describe-services, describe-scalable-targets, describe-scaling-policies, describe-target-groups answers (required)")
	f.StringVar(&c.out, "out", "", "output folder of the manifests (required)")
	f.StringVar(&c.mapping, "mapping", "", "mapping file (YAML): cells, namespaces, registries, roles, secret stores, gateway, Git repository; default cells dev, staging, prod")
	f.BoolVar(&c.strict, "strict", false, "fail when the input has fields owl does not know")
}

// convert reads and converts the fleet; it fails under --strict when some
// field is unknown.
func (c *convertFlags) convert(cmd *cobra.Command, e *env) (*migrate.Output, error) {
	if c.in == "" {
		return nil, usagef(cmd, "missing --in DIR: the folder of ECS JSON")
	}
	if c.out == "" {
		return nil, usagef(cmd, "missing --out DIR: the output folder")
	}
	m := migrate.DefaultMapping()
	if c.mapping != "" {
		var err error
		if m, err = migrate.LoadMapping(c.mapping); err != nil {
			return nil, err
		}
	}
	stage(e, "reading %s", c.in)
	in, err := ecs.ReadDir(c.in)
	if err != nil {
		return nil, err
	}
	stage(e, "converting %d services into %d cells", len(in.Services), len(m.Cells))
	out, err := migrate.Convert(in, m)
	if err != nil {
		return nil, err
	}
	for _, ie := range out.Report.InputErrors {
		fmt.Fprintf(e.stderr, "error: %s\n", ie)
	}
	if c.strict {
		var unknown int
		for _, s := range out.Report.Services {
			for _, f := range s.Findings {
				if f.Unknown {
					fmt.Fprintf(e.stderr, "unknown: %s: %s\n", s.Service, f.Field)
					unknown++
				}
			}
		}
		if unknown > 0 {
			return nil, fmt.Errorf("--strict: %d fields owl does not know; nothing was written", unknown)
		}
	}
	return out, nil
}

// failures is the error of a run where some inputs or services failed.
func failures(out *migrate.Output) error {
	var failed int
	for _, s := range out.Report.Services {
		if s.Error != "" {
			failed++
		}
	}
	if failed == 0 && len(out.Report.InputErrors) == 0 {
		return nil
	}
	return fmt.Errorf("%d input errors, %d services not converted; the others were converted", len(out.Report.InputErrors), failed)
}

func newMigrateConvertCmd(e *env) *cobra.Command {
	var c convertFlags
	var detail bool
	cmd := &cobra.Command{
		Use:   "convert --in DIR --out DIR [--mapping FILE] [--strict]",
		Short: "Convert ECS definitions into manifests and write the report",
		Long: `Convert every ECS service in --in and write, under --out:
  services/NAME/base/         Deployment (or an Argo Rollouts Rollout for the
                              canary and blue-green strategies), Service,
                              ServiceAccount, HPA, PDB, ExternalSecrets,
                              HTTPRoute, kustomization.yaml
  services/NAME/overlays/CELL/kustomization.yaml (and podidentity.yaml with
                              identity: pod-identity)
  argocd/NAME.yaml            ApplicationSet, one Application per cell
  report.json                 what became of every ECS field

Bad input is reported with file, JSON path and reason, and the other services
still convert; the exit status is then 1. Files are written atomically, and
files of a converted service that are no longer generated are removed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := c.convert(cmd, e)
			if err != nil {
				return err
			}
			changes, err := migrate.Write(c.out, out.Files, out.Owned())
			if err != nil {
				return err
			}
			if err := out.Report.WriteFile(c.out); err != nil {
				return err
			}
			if err := out.Report.WriteTable(e.stdout, detail); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %d files to %s (%d changed), report in %s\n", len(out.Files), c.out, len(changes), filepath.Join(c.out, "report.json"))
			return failures(out)
		},
	}
	c.bind(cmd)
	cmd.Flags().BoolVar(&detail, "detail", false, "also list every approximated and not-mapped field with its rule or advice")
	return cmd
}

func newMigratePlanCmd(e *env) *cobra.Command {
	var c convertFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plan --in DIR --out DIR [--mapping FILE]",
		Short: "Show what converting again would change in an output folder, as a diff",
		Long: `Convert as 'owl migrate convert' would, write nothing, and show which files
would be added, changed (with a line diff) or removed, so that re-running
after an ECS change is a reviewable Git change. Exit status 0 whether or not
something would change.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := c.convert(cmd, e)
			if err != nil {
				return err
			}
			changes, err := migrate.Plan(c.out, out.Files, out.Owned())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if changes == nil {
					changes = []migrate.Change{}
				}
				if err := enc.Encode(changes); err != nil {
					return err
				}
				return failures(out)
			}
			for _, ch := range changes {
				fmt.Fprintf(e.stdout, "%s %s\n", ch.Kind, ch.Path)
				if ch.Diff != "" {
					fmt.Fprint(e.stdout, ch.Diff)
				}
			}
			fmt.Fprintf(e.stdout, "%d files would change in %s\n", len(changes), c.out)
			return failures(out)
		},
	}
	c.bind(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the changes as JSON")
	return cmd
}

func newMigrateSynthCmd(e *env) *cobra.Command {
	var services int
	var seed uint64
	var out string
	cmd := &cobra.Command{
		Use:   "synth --services N --out DIR [--seed S]",
		Short: "Write realistic synthetic ECS definitions, for load tests",
		Long: `Write N services as the AWS API describes them: task definitions (with
sidecars, secrets from SSM and Secrets Manager, health checks), services in
describe-services pages of 10, scalable targets, scaling policies and target
groups. Same flags, same files.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef(cmd, "missing --out DIR")
			}
			if services < 1 {
				return usagef(cmd, "--services must be at least 1")
			}
			files, sum, err := ecssynth.Files(ecssynth.Config{Services: services, Seed: seed})
			if err != nil {
				return err
			}
			for name, b := range files {
				if err := migrate.WriteFileAtomic(filepath.Join(out, filepath.FromSlash(name)), b); err != nil {
					return err
				}
			}
			fmt.Fprintf(e.stdout, "wrote %d services (%d sidecars, %d secrets, %d autoscaled, %d behind a load balancer) in %d files to %s\n",
				sum.Services, sum.Sidecars, sum.Secrets, sum.Autoscaled, sum.LoadBalanced, sum.Files, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&services, "services", 50, "number of services")
	f.Uint64Var(&seed, "seed", 1, "random seed: the same seed gives the same files")
	f.StringVar(&out, "out", "", "output folder")
	return cmd
}

func newMigrateEphemeralCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ephemeral",
		Short: "Create, delete and garbage-collect short-lived environments of chosen services",
		Long: `An ephemeral environment is an overlay of chosen services' bases (converted
before with 'owl migrate convert') in its own namespace eph-NAME, with one
replica each, hostnames SERVICE.NAME.eph.DOMAIN and an expiry label, plus an
Argo CD Application whose finalizer deletes the resources when the
Application goes. Commit the files; Argo CD does the rest.`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRun,
	}
	var out, mapping string
	loadMapping := func() (*migrate.Mapping, error) {
		if mapping == "" {
			return migrate.DefaultMapping(), nil
		}
		return migrate.LoadMapping(mapping)
	}
	var name, services, cell, github string
	var ttl time.Duration
	create := &cobra.Command{
		Use:   "create --out DIR --name N --services A,B [--ttl D] [--cell C]",
		Short: "Write an ephemeral environment of the services",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || name == "" || services == "" {
				return usagef(cmd, "--out, --name and --services are required")
			}
			if ttl <= 0 {
				return usagef(cmd, "--ttl must be positive")
			}
			m, err := loadMapping()
			if err != nil {
				return err
			}
			if cell == "" {
				cell = m.Cells[0].Name
			}
			eph := migrate.Ephemeral{Name: name, Services: strings.Split(services, ","), Cell: cell, Expires: time.Now().Add(ttl).Truncate(time.Second)}
			files, err := migrate.EphemeralFiles(m, out, eph)
			if err != nil {
				return err
			}
			if _, err := migrate.Write(out, files, migrate.EphemeralOwned(name)); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "ephemeral %s: %d services in namespace eph-%s of cell %s until %s (%s)\n",
				name, len(eph.Services), name, cell, eph.Expires.UTC().Format(time.RFC3339), filepath.Join(out, migrate.EphemeralDir(name)))
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "environment name (a DNS label)")
	create.Flags().StringVar(&services, "services", "", "comma-separated service names, as converted")
	create.Flags().DurationVar(&ttl, "ttl", 72*time.Hour, "time to live; gc removes the environment after it")
	create.Flags().StringVar(&cell, "cell", "", "cell (Argo CD cluster name) to run in; default the mapping's first cell")
	del := &cobra.Command{
		Use:   "delete --out DIR --name N",
		Short: "Remove an ephemeral environment's files",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || name == "" {
				return usagef(cmd, "--out and --name are required")
			}
			if err := migrate.RemoveEphemeral(out, name); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deleted ephemeral %s\n", name)
			return nil
		},
	}
	del.Flags().StringVar(&name, "name", "", "environment name")
	gc := &cobra.Command{
		Use:   "gc --out DIR",
		Short: "Remove the ephemeral environments whose time to live has passed",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef(cmd, "--out is required")
			}
			expired, err := migrate.Expired(out, time.Now())
			if err != nil {
				return err
			}
			for _, n := range expired {
				if err := migrate.RemoveEphemeral(out, n); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted expired ephemeral %s\n", n)
			}
			fmt.Fprintf(e.stdout, "%d expired environments removed\n", len(expired))
			return nil
		},
	}
	pr := &cobra.Command{
		Use:   "pull-requests --out DIR --services A,B --github OWNER/REPO [--cell C]",
		Short: "Write an ApplicationSet that gives every pull request labelled 'preview' its environment",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			owner, repo, ok := strings.Cut(github, "/")
			if out == "" || services == "" || !ok || owner == "" || repo == "" {
				return usagef(cmd, "--out, --services and --github OWNER/REPO are required")
			}
			m, err := loadMapping()
			if err != nil {
				return err
			}
			if cell == "" {
				cell = m.Cells[0].Name
			}
			files, err := migrate.PullRequestFiles(m, out, strings.Split(services, ","), owner, repo, cell)
			if err != nil {
				return err
			}
			if _, err := migrate.Write(out, files, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %s and %s\n", filepath.Join(out, "ephemeral", "pr"), filepath.Join(out, "argocd", "ephemeral-pr.yaml"))
			return nil
		},
	}
	pr.Flags().StringVar(&services, "services", "", "comma-separated service names, as converted")
	pr.Flags().StringVar(&github, "github", "", "GitHub repository whose pull requests get environments, OWNER/REPO")
	pr.Flags().StringVar(&cell, "cell", "", "cell (Argo CD cluster name) to run in; default the mapping's first cell")
	for _, c := range []*cobra.Command{create, del, gc, pr} {
		c.Flags().StringVar(&out, "out", "", "output folder of 'owl migrate convert'")
		if c == create || c == pr {
			c.Flags().StringVar(&mapping, "mapping", "", "mapping file, as given to convert")
		}
	}
	cmd.AddCommand(create, del, gc, pr)
	return cmd
}
