package ecs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Input is everything read from a folder of ECS definitions. A definition
// with an error is left out and its errors are in Errors; the rest is usable.
type Input struct {
	TaskDefinitions []*TaskDefinition
	Services        []*Service
	ScalableTargets []*ScalableTarget
	ScalingPolicies []*ScalingPolicy
	TargetGroups    []*TargetGroup
	// Unknown lists, per task definition ARN (or family) and per service
	// name, the JSON paths of fields owl does not know.
	Unknown map[string][]Unknown
	Errors  []*Error
}

// Unknown is a field owl does not know, where it was found.
type Unknown struct {
	File string
	Path string
}

// ReadDir reads every *.json file under dir. The error is only for a folder
// that cannot be listed; problems in files are in Input.Errors.
func ReadDir(dir string) (*Input, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read ECS definitions: %w", err)
	}
	slices.Sort(files)
	in := &Input{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			in.Errors = append(in.Errors, &Error{File: f, Path: "$", Reason: err.Error()})
			continue
		}
		in.Add(f, data)
	}
	return in, nil
}

// Add reads one file's content into in.
func (in *Input) Add(file string, data []byte) {
	d := newDecoder(file)
	v, ok := d.parse(data)
	if !ok {
		in.Errors = append(in.Errors, d.errs...)
		return
	}
	top, ok := v.(map[string]any)
	if !ok {
		in.Errors = append(in.Errors, &Error{File: file, Path: "$", Reason: "want an object, got " + kind(v)})
		return
	}
	switch {
	case top["taskDefinition"] != nil:
		in.addTaskDefinition(d, top["taskDefinition"], top["tags"], "$.taskDefinition", top, "taskDefinition", "tags")
	case top["containerDefinitions"] != nil:
		// register-task-definition input, as kept in many repositories.
		tags := top["tags"]
		delete(top, "tags")
		in.addTaskDefinition(d, top, tags, "$", nil)
	case top["services"] != nil:
		in.addList(d, top, "services", "failures")
	case top["ScalableTargets"] != nil:
		in.addList(d, top, "ScalableTargets", "NextToken")
	case top["ScalingPolicies"] != nil:
		in.addList(d, top, "ScalingPolicies", "NextToken")
	case top["TargetGroups"] != nil:
		in.addList(d, top, "TargetGroups", "NextMarker")
	default:
		in.Errors = append(in.Errors, &Error{File: file, Path: "$", Reason: "not an ECS answer: want a member taskDefinition, containerDefinitions, services, ScalableTargets, ScalingPolicies or TargetGroups"})
	}
}

func (in *Input) unknown(owner string, d *decoder, from int) {
	if len(d.unknown) == from {
		return
	}
	if in.Unknown == nil {
		in.Unknown = make(map[string][]Unknown)
	}
	for _, p := range d.unknown[from:] {
		in.Unknown[owner] = append(in.Unknown[owner], Unknown{File: d.file, Path: p})
	}
}

// topUnknown records top-level members other than the expected ones.
func topUnknown(d *decoder, top map[string]any, known ...string) {
	keys := make([]string, 0, len(top))
	for k := range top {
		if !slices.Contains(known, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		d.unknown = append(d.unknown, member("$", k))
	}
}

func (in *Input) addTaskDefinition(d *decoder, v, tags any, path string, top map[string]any, known ...string) {
	td := &TaskDefinition{}
	d.value(v, reflect.ValueOf(td).Elem(), path)
	d.value(tags, reflect.ValueOf(&td.Tags).Elem(), "$.tags")
	if top != nil {
		topUnknown(d, top, known...)
	}
	if len(d.errs) == 0 {
		validateTaskDefinition(d, td, path)
	}
	if len(d.errs) > 0 {
		in.Errors = append(in.Errors, d.errs...)
		return
	}
	in.unknown(td.Key(), d, 0)
	in.TaskDefinitions = append(in.TaskDefinitions, td)
}

// addList reads the array member name of top; each element stands alone, so
// an error in one leaves the others usable.
func (in *Input) addList(d *decoder, top map[string]any, name string, known ...string) {
	topUnknown(d, top, append(known, name)...)
	in.unknown(d.file, d, 0)
	arr, ok := top[name].([]any)
	if !ok {
		d.fail("$."+name, "want an array, got %s", kind(top[name]))
		in.Errors = append(in.Errors, d.errs...)
		return
	}
	for i, e := range arr {
		path := fmt.Sprintf("$.%s[%d]", name, i)
		ed := newDecoder(d.file)
		ed.fields = d.fields
		switch name {
		case "services":
			s := &Service{}
			ed.value(e, reflect.ValueOf(s).Elem(), path)
			if len(ed.errs) == 0 {
				validateService(ed, s, path)
			}
			if len(ed.errs) == 0 {
				in.Services = append(in.Services, s)
				in.unknown(s.ServiceName, ed, 0)
			}
		case "ScalableTargets":
			t := &ScalableTarget{}
			ed.value(e, reflect.ValueOf(t).Elem(), path)
			if len(ed.errs) == 0 && t.MinCapacity > t.MaxCapacity {
				ed.fail(path+".MinCapacity", "MinCapacity %d is above MaxCapacity %d", t.MinCapacity, t.MaxCapacity)
			}
			if len(ed.errs) == 0 {
				in.ScalableTargets = append(in.ScalableTargets, t)
				in.unknown(t.ResourceID, ed, 0)
			}
		case "ScalingPolicies":
			p := &ScalingPolicy{}
			ed.value(e, reflect.ValueOf(p).Elem(), path)
			if len(ed.errs) == 0 {
				in.ScalingPolicies = append(in.ScalingPolicies, p)
				in.unknown(p.ResourceID, ed, 0)
			}
		case "TargetGroups":
			g := &TargetGroup{}
			ed.value(e, reflect.ValueOf(g).Elem(), path)
			if len(ed.errs) == 0 && g.TargetGroupArn == "" {
				ed.fail(path+".TargetGroupArn", "missing")
			}
			if len(ed.errs) == 0 {
				in.TargetGroups = append(in.TargetGroups, g)
				in.unknown(g.TargetGroupArn, ed, 0)
			}
		}
		in.Errors = append(in.Errors, ed.errs...)
	}
}

// Key identifies a task definition: family:revision, or the family alone
// when the revision is unknown.
func (td *TaskDefinition) Key() string {
	if td.Revision > 0 {
		return td.Family + ":" + strconv.Itoa(td.Revision)
	}
	return td.Family
}

var validConditions = []string{"START", "COMPLETE", "SUCCESS", "HEALTHY"}

func validateTaskDefinition(d *decoder, td *TaskDefinition, path string) {
	if td.Family == "" {
		d.fail(path+".family", "missing: every task definition has a family")
	}
	if td.CPU != "" {
		u, err := ParseCPU(td.CPU)
		if err != nil {
			d.fail(path+".cpu", "%v", err)
		}
		td.CPUUnits = u
	}
	if td.Memory != "" {
		m, err := ParseMemory(td.Memory)
		if err != nil {
			d.fail(path+".memory", "%v", err)
		}
		td.MemoryMiB = m
	}
	if len(td.ContainerDefinitions) == 0 {
		d.fail(path+".containerDefinitions", "missing: a task definition has at least one container")
	}
	volumes := map[string]bool{}
	for _, v := range td.Volumes {
		volumes[v.Name] = true
	}
	names := map[string]bool{}
	for i := range td.ContainerDefinitions {
		c := &td.ContainerDefinitions[i]
		p := fmt.Sprintf("%s.containerDefinitions[%d]", path, i)
		switch {
		case c.Name == "":
			d.fail(p+".name", "missing")
		case names[c.Name]:
			d.fail(p+".name", "container name %q used twice", c.Name)
		}
		names[c.Name] = true
		if c.Image == "" {
			d.fail(p+".image", "missing")
		}
		if c.CPU < 0 || c.CPU > 10*1024*4 {
			d.fail(p+".cpu", "CPU units %d out of range 0..40960", c.CPU)
		}
		if c.Memory != nil && *c.Memory <= 0 {
			d.fail(p+".memory", "memory %d MiB must be positive", *c.Memory)
		}
		if c.MemoryReservation != nil && *c.MemoryReservation <= 0 {
			d.fail(p+".memoryReservation", "memoryReservation %d MiB must be positive", *c.MemoryReservation)
		}
		if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
			d.fail(p+".memoryReservation", "memoryReservation %d MiB is above memory %d MiB", *c.MemoryReservation, *c.Memory)
		}
		for j, pm := range c.PortMappings {
			pp := fmt.Sprintf("%s.portMappings[%d]", p, j)
			if pm.ContainerPortRange == "" && (pm.ContainerPort < 1 || pm.ContainerPort > 65535) {
				d.fail(pp+".containerPort", "port %d out of range 1..65535", pm.ContainerPort)
			}
			if pm.HostPort < 0 || pm.HostPort > 65535 {
				d.fail(pp+".hostPort", "port %d out of range 0..65535", pm.HostPort)
			}
			if p := strings.ToLower(pm.Protocol); p != "" && p != "tcp" && p != "udp" {
				d.fail(pp+".protocol", "protocol %q: want tcp or udp", pm.Protocol)
			}
		}
		if h := c.HealthCheck; h != nil {
			validateHealthCheck(d, h, p+".healthCheck")
		}
		for j := range c.Secrets {
			s := &c.Secrets[j]
			sp := fmt.Sprintf("%s.secrets[%d]", p, j)
			if s.Name == "" {
				d.fail(sp+".name", "missing")
			}
			ref, err := ParseSecretRef(s.ValueFrom)
			if err != nil {
				d.fail(sp+".valueFrom", "%v", err)
			}
			s.Ref = ref
		}
		for j, m := range c.MountPoints {
			if !volumes[m.SourceVolume] {
				d.fail(fmt.Sprintf("%s.mountPoints[%d].sourceVolume", p, j), "no task volume named %q", m.SourceVolume)
			}
		}
		if c.StopTimeout != nil && *c.StopTimeout < 0 {
			d.fail(p+".stopTimeout", "negative stop timeout %d", *c.StopTimeout)
		}
	}
	for i, c := range td.ContainerDefinitions {
		for j, dep := range c.DependsOn {
			dp := fmt.Sprintf("%s.containerDefinitions[%d].dependsOn[%d]", path, i, j)
			if !names[dep.ContainerName] || dep.ContainerName == c.Name {
				d.fail(dp+".containerName", "no other container named %q", dep.ContainerName)
			}
			if !slices.Contains(validConditions, dep.Condition) {
				d.fail(dp+".condition", "condition %q: want one of %s", dep.Condition, strings.Join(validConditions, ", "))
			}
		}
	}
}

func validateHealthCheck(d *decoder, h *HealthCheck, p string) {
	if len(h.Command) == 0 || !slices.Contains([]string{"CMD", "CMD-SHELL", "NONE"}, h.Command[0]) {
		d.fail(p+".command", "want [\"CMD\", ...] or [\"CMD-SHELL\", \"...\"]")
	} else if h.Command[0] != "NONE" && len(h.Command) < 2 {
		d.fail(p+".command", "%s without a command", h.Command[0])
	}
	check := func(v *int, name string, lo, hi int) {
		if v != nil && (*v < lo || *v > hi) {
			d.fail(p+"."+name, "%s %d out of range %d..%d", name, *v, lo, hi)
		}
	}
	check(h.Interval, "interval", 5, 300)
	check(h.Timeout, "timeout", 2, 120)
	check(h.Retries, "retries", 1, 10)
	check(h.StartPeriod, "startPeriod", 0, 300)
}

func validateService(d *decoder, s *Service, path string) {
	if s.ServiceName == "" {
		d.fail(path+".serviceName", "missing")
	}
	if s.TaskDefinition == "" {
		d.fail(path+".taskDefinition", "missing")
	}
	if s.DesiredCount < 0 {
		d.fail(path+".desiredCount", "negative desired count %d", s.DesiredCount)
	}
	if c := s.DeploymentConfiguration; c != nil {
		if c.MaximumPercent != nil && (*c.MaximumPercent < 100 || *c.MaximumPercent > 200) {
			d.fail(path+".deploymentConfiguration.maximumPercent", "%d out of range 100..200", *c.MaximumPercent)
		}
		if c.MinimumHealthyPercent != nil && (*c.MinimumHealthyPercent < 0 || *c.MinimumHealthyPercent > 100) {
			d.fail(path+".deploymentConfiguration.minimumHealthyPercent", "%d out of range 0..100", *c.MinimumHealthyPercent)
		}
	}
	for i, lb := range s.LoadBalancers {
		if lb.ContainerPort < 1 || lb.ContainerPort > 65535 {
			d.fail(fmt.Sprintf("%s.loadBalancers[%d].containerPort", path, i), "port %d out of range 1..65535", lb.ContainerPort)
		}
	}
}

// ParseCPU parses a task-level CPU value: CPU units ("1024") or vCPUs
// ("1 vCPU", "0.25 vcpu").
func ParseCPU(s string) (int, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	if v, ok := strings.CutSuffix(t, "vcpu"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f > 0 && f <= 192) {
			return 0, fmt.Errorf("CPU %q: want CPU units like \"1024\" or vCPUs like \"1 vCPU\"", s)
		}
		return int(f * 1024), nil
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || n > 192*1024 {
		return 0, fmt.Errorf("CPU %q: want CPU units like \"1024\" or vCPUs like \"1 vCPU\"", s)
	}
	return n, nil
}

// ParseMemory parses a task-level memory value: MiB ("2048") or GB ("2 GB").
func ParseMemory(s string) (int, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	if v, ok := strings.CutSuffix(t, "gb"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f > 0 && f <= 2048) {
			return 0, fmt.Errorf("memory %q: want MiB like \"2048\" or GB like \"2 GB\"", s)
		}
		return int(f * 1024), nil
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || n > 2048*1024 {
		return 0, fmt.Errorf("memory %q: want MiB like \"2048\" or GB like \"2 GB\"", s)
	}
	return n, nil
}
