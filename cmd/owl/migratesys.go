package main

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"time"

	"github.com/owlstack/owl/deploy"
	"github.com/owlstack/owl/internal/landing"
	"github.com/owlstack/owl/internal/migrate"
	"github.com/owlstack/owl/internal/migrate/ecs"
	"github.com/owlstack/owl/internal/migrate/fleetpage"
	ecssynth "github.com/owlstack/owl/internal/migrate/synth"
)

// demoFleet sizes owl up's migration demo: owl's own services plus
// synthetic ones, of which the last demoNotStarted are left unconverted.
const (
	demoFleetSynth  = 120
	demoNotStarted  = 18
	fleetRefreshTTL = 5 * time.Second
)

// startMigrateDemo writes owl's own ECS definitions and a synthetic fleet
// under data/migrate/ecs, converts all but a few into data/migrate/out, and
// serves the fleet view, which reads the shift controller's status API at
// shiftsURL (with the token startShiftDemo keeps under data) like any other
// client would.
func startMigrateDemo(p *process, data, shiftsURL string) error {
	token, err := shiftToken(data)
	if err != nil {
		return fmt.Errorf("migrate demo: %w", err)
	}
	ecsDir := filepath.Join(data, "migrate", "ecs")
	outDir := filepath.Join(data, "migrate", "out")
	files := map[string][]byte{}
	err = fs.WalkDir(deploy.ECS, "ecs", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files[path.Join("owl", path.Base(name))], err = fs.ReadFile(deploy.ECS, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate demo: %w", err)
	}
	synth, _, err := ecssynth.Files(ecssynth.Config{Services: demoFleetSynth, Seed: 1})
	if err != nil {
		return fmt.Errorf("migrate demo: %w", err)
	}
	for name, b := range synth {
		files[path.Join("synth", name)] = b
	}
	in := &ecs.Input{}
	for name, b := range files {
		if err := migrate.WriteFileAtomic(filepath.Join(ecsDir, filepath.FromSlash(name)), b); err != nil {
			return fmt.Errorf("migrate demo: %w", err)
		}
		in.Add(name, b)
	}
	mb, err := fs.ReadFile(deploy.ECS, "mapping.yaml")
	if err != nil {
		return fmt.Errorf("migrate demo: %w", err)
	}
	m, err := migrate.ParseMapping(mb)
	if err != nil {
		return fmt.Errorf("migrate demo: deploy/mapping.yaml: %w", err)
	}
	in.Services = in.Services[:len(in.Services)-demoNotStarted]
	out, err := migrate.Convert(in, m)
	if err != nil {
		return fmt.Errorf("migrate demo: %w", err)
	}
	if _, err := migrate.Write(outDir, out.Files, out.Owned()); err != nil {
		return fmt.Errorf("migrate demo: %w", err)
	}
	if err := out.Report.WriteFile(outDir); err != nil {
		return fmt.Errorf("migrate demo: %w", err)
	}
	src := migrate.FleetSources{Out: outDir, In: ecsDir, Shifts: shiftsURL, ShiftsToken: token}
	page := &fleetpage.Page{
		Load:   func(ctx context.Context) (*migrate.Fleet, []error) { return src.Load(ctx) },
		Source: fmt.Sprintf("owl's own services and %d synthetic ones, from %s and the shift controller's API", demoFleetSynth, outDir),
		TTL:    fleetRefreshTTL,
	}
	page.Routes(p.mux)
	p.entries = append(p.entries, landing.Entry{
		Name:        "migrate-fleet",
		Description: "every service's migration phase per team: converted manifests, Argo CD status and traffic shifts",
		Link:        "/migrate/",
	})
	return nil
}
