package migrate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/owlstack/owl/internal/migrate/ecs"
)

// Phase is where one service is in its migration.
type Phase string

// Phases, in the order a service goes through them.
const (
	PhaseNotStarted Phase = "not-started" // in the ECS input, not converted
	PhaseGenerated  Phase = "generated"   // manifests in the output folder
	PhaseDeployed   Phase = "deployed"    // synced and healthy in at least one cell
	PhaseShifting   Phase = "shifting"    // traffic moving to Kubernetes
	PhaseDone       Phase = "done"        // all traffic on Kubernetes
	PhaseRolledBack Phase = "rolled-back" // a shift went back to ECS
)

// Phases lists every phase in order.
var Phases = []Phase{PhaseNotStarted, PhaseGenerated, PhaseDeployed, PhaseShifting, PhaseDone, PhaseRolledBack}

// FleetService is one service of the fleet view.
type FleetService struct {
	Service string `json:"service"`
	Team    string `json:"team"`
	Phase   Phase  `json:"phase"`
	// Cells maps each cell with an Argo CD application to its sync and
	// health, e.g. "Synced/Healthy".
	Cells map[string]string `json:"cells,omitempty"`
	// ShiftPercent is the share of traffic on Kubernetes while shifting.
	ShiftPercent float64 `json:"shift_percent,omitempty"`
	// Shift is the name and state of the service's traffic shift.
	Shift string `json:"shift,omitempty"`
	// Detail says why the service is in its phase.
	Detail string `json:"detail,omitempty"`
}

// Fleet is every service with its phase, and the counts per team and phase.
type Fleet struct {
	Services []FleetService           `json:"services"`
	Teams    map[string]map[Phase]int `json:"teams"`
	Phases   map[Phase]int            `json:"phases"`
}

// ArgoApp is the part of an Argo CD Application the fleet view reads.
type ArgoApp struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Status struct {
		Sync struct {
			Status string `json:"status"`
		} `json:"sync"`
		Health struct {
			Status string `json:"status"`
		} `json:"health"`
	} `json:"status"`
}

// ParseArgoApps reads Argo CD applications as its API returns them
// (GET /api/v1/applications: {"items": [...]}) or as 'argocd app list -o
// json' prints them (a JSON array).
func ParseArgoApps(data []byte) ([]ArgoApp, error) {
	data = []byte(strings.TrimSpace(string(data)))
	if len(data) > 0 && data[0] == '[' {
		var apps []ArgoApp
		if err := json.Unmarshal(data, &apps); err != nil {
			return nil, fmt.Errorf("argo cd applications: %w", err)
		}
		return apps, nil
	}
	var list struct {
		Items *[]ArgoApp `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("argo cd applications: %w", err)
	}
	if list.Items == nil {
		return nil, errors.New(`argo cd applications: want a JSON array or an object with "items"`)
	}
	return *list.Items, nil
}

// ShiftStatus is the part of a traffic shift's status the fleet view reads
// from the shift controller's API.
type ShiftStatus struct {
	Name string `json:"name"`
	// Service is the migrated service the shift moves; when empty, the
	// shift's name is taken for it.
	Service string `json:"service"`
	// State is the controller's state: pending, promoting, progressing,
	// paused, succeeded, rolling_back, rolled_back or aborted.
	State string `json:"state"`
	// Percent is the share of traffic on the new side, as the controller
	// last verified it.
	Percent float64 `json:"percent"`
}

// FleetInput is what the fleet view is built from.
type FleetInput struct {
	// Report is the conversion report of the output folder.
	Report *Report
	// NotConverted are services of the ECS input that are not in the
	// output folder, by name, with their team.
	NotConverted map[string]string
	// Apps are Argo CD applications (nil: unknown).
	Apps []ArgoApp
	// Shifts are the shift controller's shifts (nil: unknown).
	Shifts []ShiftStatus
}

// ReadReport reads the report.json that 'owl migrate convert' wrote into
// an output folder.
func ReadReport(out string) (*Report, error) {
	b, err := os.ReadFile(filepath.Join(out, ReportFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no report.json: is it the output folder of 'owl migrate convert'?", out)
	}
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s/report.json: %w", out, err)
	}
	return &r, nil
}

// BuildFleet places every service in its phase: shifts decide for services
// that have one, then Argo CD health, then presence in the output folder.
func BuildFleet(in FleetInput) *Fleet {
	f := &Fleet{Teams: map[string]map[Phase]int{}, Phases: map[Phase]int{}}
	apps := map[string]map[string]string{} // service → cell → sync/health
	for _, a := range in.Apps {
		svc := a.Metadata.Labels[LabelService]
		if svc == "" {
			continue // not an application of a converted service
		}
		cell := strings.TrimPrefix(a.Metadata.Name, svc+"-")
		if apps[svc] == nil {
			apps[svc] = map[string]string{}
		}
		apps[svc][cell] = a.Status.Sync.Status + "/" + a.Status.Health.Status
	}
	shifts := map[string]ShiftStatus{}
	for _, s := range in.Shifts {
		svc := cmp.Or(s.Service, s.Name)
		if old, ok := shifts[svc]; !ok || shiftRank(s.State) >= shiftRank(old.State) {
			shifts[svc] = s
		}
	}
	if in.Report != nil {
		for _, r := range in.Report.Services {
			if r.Error != "" {
				f.Services = append(f.Services, FleetService{Service: r.Service, Team: r.Team, Phase: PhaseNotStarted, Detail: "conversion failed: " + r.Error})
				continue
			}
			fs := FleetService{Service: r.Service, Team: r.Team, Phase: PhaseGenerated, Cells: apps[r.Service], Detail: "manifests generated"}
			var healthy []string
			for cell, st := range fs.Cells {
				if st == "Synced/Healthy" {
					healthy = append(healthy, cell)
				}
			}
			if len(healthy) > 0 {
				slices.Sort(healthy)
				fs.Phase, fs.Detail = PhaseDeployed, fmt.Sprintf("healthy in %d of %d cells: %s", len(healthy), len(fs.Cells), strings.Join(healthy, ", "))
			}
			if s, ok := shifts[r.Service]; ok {
				fs.Shift = s.Name + " (" + s.State + ")"
				switch s.State {
				case "succeeded":
					fs.Phase, fs.ShiftPercent, fs.Detail = PhaseDone, 100, "all traffic on Kubernetes"
				case "rolled_back", "aborted":
					fs.Phase, fs.Detail = PhaseRolledBack, "shift "+s.Name+" "+s.State
				default:
					fs.Phase, fs.ShiftPercent = PhaseShifting, s.Percent
					fs.Detail = fmt.Sprintf("%g%% of traffic on Kubernetes, shift %s", s.Percent, s.State)
				}
			}
			f.Services = append(f.Services, fs)
		}
	}
	for svc, team := range in.NotConverted {
		f.Services = append(f.Services, FleetService{Service: svc, Team: team, Phase: PhaseNotStarted, Detail: "not converted yet"})
	}
	slices.SortFunc(f.Services, func(a, b FleetService) int {
		return cmp.Or(cmp.Compare(a.Team, b.Team), cmp.Compare(a.Service, b.Service))
	})
	for _, s := range f.Services {
		if f.Teams[s.Team] == nil {
			f.Teams[s.Team] = map[Phase]int{}
		}
		f.Teams[s.Team][s.Phase]++
		f.Phases[s.Phase]++
	}
	return f
}

// shiftRank orders shift states so that an active shift of a service wins
// over a finished one.
func shiftRank(state string) int {
	switch state {
	case "succeeded", "rolled_back", "aborted":
		return 0
	}
	return 1
}

// ParseShifts reads the shift controller's list of shifts: a JSON array,
// or an object with "shifts" or "items".
func ParseShifts(data []byte) ([]ShiftStatus, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var list struct {
			Shifts *[]json.RawMessage `json:"shifts"`
			Items  *[]json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("shifts: %w", err)
		}
		switch {
		case list.Shifts != nil:
			raw = *list.Shifts
		case list.Items != nil:
			raw = *list.Items
		default:
			return nil, errors.New(`shifts: want a JSON array or an object with "shifts"`)
		}
	}
	out := make([]ShiftStatus, 0, len(raw))
	for i, r := range raw {
		var s ShiftStatus
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, fmt.Errorf("shifts[%d]: %w", i, err)
		}
		if s.Name == "" {
			return nil, fmt.Errorf("shifts[%d]: no name", i)
		}
		out = append(out, s)
	}
	return out, nil
}

// Unconverted returns the services of the ECS input that the report does
// not list, with their owner team from tags or docker labels.
func Unconverted(in *ecs.Input, r *Report) map[string]string {
	done := map[string]bool{}
	for _, s := range r.Services {
		done[s.Service] = true
	}
	tds := taskDefinitionIndex(in)
	out := map[string]string{}
	for _, svc := range in.Services {
		name := dnsLabel(svc.ServiceName)
		if done[name] {
			continue
		}
		team := "unowned"
		td := lookupTaskDefinition(tds, svc.TaskDefinition)
		if td == nil {
			td = &ecs.TaskDefinition{}
		}
		if t := overrides(svc, td)[TagTeam]; t != "" {
			team = dnsLabel(t)
		}
		out[name] = team
	}
	return out
}

// FleetSources says where the fleet view reads from: files, or http(s)
// URLs read with a bearer token.
type FleetSources struct {
	// Out is the output folder of 'owl migrate convert' (required).
	Out string
	// In is the folder of ECS JSON; its services missing from Out are not
	// started.
	In string
	// ArgoCD is Argo CD's application list: 'argocd app list -o json', or
	// its API's .../api/v1/applications.
	ArgoCD, ArgoCDToken string
	// Shifts is the shift controller's list of shifts (.../api/v1/shifts).
	Shifts, ShiftsToken string
	// Client fetches URLs; nil means a client with a 30 s timeout.
	Client *http.Client
}

// Load builds the fleet. Without the output folder's report there is no
// fleet; an unreadable optional source is reported in errs and the fleet is
// built from the others.
func (s FleetSources) Load(ctx context.Context) (f *Fleet, errs []error) {
	var in FleetInput
	var err error
	if in.Report, err = ReadReport(s.Out); err != nil {
		return nil, []error{err}
	}
	if s.In != "" {
		ecsIn, err := ecs.ReadDir(s.In)
		if err != nil {
			errs = append(errs, err)
		} else {
			in.NotConverted = Unconverted(ecsIn, in.Report)
		}
	}
	if s.ArgoCD != "" {
		b, err := s.fetch(ctx, s.ArgoCD, s.ArgoCDToken)
		if err == nil {
			in.Apps, err = ParseArgoApps(b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("argo cd %s: %w", s.ArgoCD, err))
		}
	}
	if s.Shifts != "" {
		b, err := s.fetch(ctx, s.Shifts, s.ShiftsToken)
		if err == nil {
			in.Shifts, err = ParseShifts(b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("shifts %s: %w", s.Shifts, err))
		}
	}
	return BuildFleet(in), errs
}

// fetch reads a file, or GETs an http(s) URL with a bearer token.
func (s FleetSources) fetch(ctx context.Context, src, token string) ([]byte, error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return os.ReadFile(src)
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET: %s", resp.Status)
	}
	return b, nil
}
