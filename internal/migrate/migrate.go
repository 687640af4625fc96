package migrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/owlstack/owl/internal/migrate/ecs"
)

// Output is a converted fleet: the files to write, by slash-separated path
// relative to the output folder, and the report.
type Output struct {
	Files  map[string][]byte
	Report *Report
}

// Convert converts every service of in. A service whose task definition is
// missing or whose output fails validation is reported with its error; the
// others convert.
func Convert(in *ecs.Input, m *Mapping) (*Output, error) {
	v, err := NewValidator()
	if err != nil {
		return nil, err
	}
	out := &Output{Files: map[string][]byte{}, Report: &Report{}}
	for _, e := range in.Errors {
		out.Report.InputErrors = append(out.Report.InputErrors, e.Error())
	}
	tds := taskDefinitionIndex(in)
	if m.Karpenter != nil {
		b, err := renderStream(v, nodePools(m.Karpenter))
		if err != nil {
			return nil, fmt.Errorf("karpenter node pools: %w", err)
		}
		out.Files[NodePoolsFile] = b
	}
	services := slices.Clone(in.Services)
	slices.SortFunc(services, func(a, b *ecs.Service) int { return strings.Compare(a.ServiceName, b.ServiceName) })
	seen := map[string]bool{}
	for _, svc := range services {
		name := dnsLabel(svc.ServiceName)
		td := lookupTaskDefinition(tds, svc.TaskDefinition)
		fail := func(format string, args ...any) {
			out.Report.Services = append(out.Report.Services, &ServiceReport{Service: name, TaskDefinition: svc.TaskDefinition, Error: fmt.Sprintf(format, args...)})
		}
		switch {
		case seen[name]:
			fail("another service is also named %s", name)
			continue
		case td == nil:
			fail("task definition %s is not in the input (or has errors)", svc.TaskDefinition)
			continue
		}
		seen[name] = true
		if o := overrides(svc, td); o[TagSkip] == "true" {
			out.Report.Services = append(out.Report.Services, &ServiceReport{Service: name, TaskDefinition: td.Key(), Findings: []Finding{{Field: "tags[" + TagSkip + "]", Status: Mapped, Rule: "skipped on request"}}})
			continue
		}
		s := convertService(m, in, svc, td)
		files, err := s.render(m, v)
		if err != nil {
			s.report.Error = err.Error()
		} else {
			for f, b := range files {
				out.Files[f] = b
			}
		}
		out.Report.Services = append(out.Report.Services, s.report)
	}
	return out, nil
}

// taskDefinitionIndex finds task definitions by family:revision, ARN, and
// family (the latest revision).
func taskDefinitionIndex(in *ecs.Input) map[string]*ecs.TaskDefinition {
	tds := map[string]*ecs.TaskDefinition{}
	for _, td := range in.TaskDefinitions {
		tds[td.Key()] = td
		tds[td.TaskDefinitionArn] = td
		if prev, ok := tds[td.Family]; !ok || prev.Revision < td.Revision {
			tds[td.Family] = td
		}
	}
	return tds
}

func lookupTaskDefinition(tds map[string]*ecs.TaskDefinition, ref string) *ecs.TaskDefinition {
	if td := tds[ref]; td != nil {
		return td
	}
	// A full ARN: arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION.
	if _, fr, ok := strings.Cut(ref, ":task-definition/"); ok {
		return tds[fr]
	}
	return nil
}

// ServiceDir is the folder of one service's manifests in the output.
func ServiceDir(name string) string { return "services/" + name }

// render renders and validates every file of the service.
func (s *service) render(m *Mapping, v *Validator) (map[string][]byte, error) {
	files := map[string][]byte{}
	dir := ServiceDir(s.name)
	base := &ktypes.Kustomization{
		TypeMeta:  ktypes.TypeMeta{APIVersion: ktypes.KustomizationVersion, Kind: ktypes.KustomizationKind},
		Namespace: s.namespace,
	}
	for _, o := range s.base {
		b, err := v.Render(o.obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.file, err)
		}
		files[dir+"/base/"+o.file] = b
		base.Resources = append(base.Resources, o.file)
	}
	b, err := v.Render(base)
	if err != nil {
		return nil, fmt.Errorf("base kustomization: %w", err)
	}
	files[dir+"/base/kustomization.yaml"] = b
	for _, cell := range m.Cells {
		k := s.overlay(m, cell, "../../base", cell.Name, m.Domain)
		if pia := s.podIdentity(cell); pia != nil {
			b, err := v.Render(pia)
			if err != nil {
				return nil, fmt.Errorf("overlay %s: pod identity: %w", cell.Name, err)
			}
			files[dir+"/overlays/"+cell.Name+"/podidentity.yaml"] = b
			k.Resources = append(k.Resources, "podidentity.yaml")
		}
		b, err := v.Render(k)
		if err != nil {
			return nil, fmt.Errorf("overlay %s: %w", cell.Name, err)
		}
		files[dir+"/overlays/"+cell.Name+"/kustomization.yaml"] = b
	}
	b, err = v.Render(s.applicationSet(m))
	if err != nil {
		return nil, fmt.Errorf("applicationset: %w", err)
	}
	files["argocd/"+s.name+".yaml"] = b
	return files, nil
}

// overlay is the kustomization of one cell (or one ephemeral environment)
// of the service.
func (s *service) overlay(m *Mapping, cell Cell, base, hostLabel, domain string) *ktypes.Kustomization {
	k := &ktypes.Kustomization{
		TypeMeta:  ktypes.TypeMeta{APIVersion: ktypes.KustomizationVersion, Kind: ktypes.KustomizationKind},
		Resources: []string{base},
		Labels:    []ktypes.Label{{Pairs: map[string]string{LabelCell: cell.Name}, IncludeTemplates: true}},
	}
	if cell.MaxReplicas > 0 {
		if s.hasHPA {
			k.Patches = append(k.Patches, ktypes.Patch{
				Target: &ktypes.Selector{ResId: resID("autoscaling", "v2", "HorizontalPodAutoscaler", s.name)},
				Patch:  jsonPatch(s.hpaCap(cell.MaxReplicas)),
			})
		} else if s.replicas > cell.MaxReplicas && s.workload == "Rollout" {
			// Kustomize's replicas field knows only the built-in workloads.
			k.Patches = append(k.Patches, ktypes.Patch{
				Target: &ktypes.Selector{ResId: resID("argoproj.io", "v1alpha1", "Rollout", s.name)},
				Patch:  jsonPatch([]patchOp{{Op: "replace", Path: "/spec/replicas", Value: cell.MaxReplicas}}),
			})
		} else if s.replicas > cell.MaxReplicas {
			k.Replicas = append(k.Replicas, ktypes.Replica{Name: s.name, Count: int64(cell.MaxReplicas)})
		}
	}
	if s.hasRoute {
		k.Patches = append(k.Patches, ktypes.Patch{
			Target: &ktypes.Selector{ResId: resID("gateway.networking.k8s.io", "v1", "HTTPRoute", s.name)},
			Patch:  jsonPatch([]patchOp{{Op: "replace", Path: "/spec/hostnames", Value: []string{s.name + "." + hostLabel + "." + domain}}}),
		})
	}
	return k
}

func (s *service) hpaCap(limit int32) []patchOp {
	for _, o := range s.base {
		if h, ok := o.obj.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			ops := []patchOp{{Op: "replace", Path: "/spec/maxReplicas", Value: min(h.Spec.MaxReplicas, limit)}}
			if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas > limit {
				ops = append(ops, patchOp{Op: "replace", Path: "/spec/minReplicas", Value: limit})
			}
			return ops
		}
	}
	return nil
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

func jsonPatch(ops []patchOp) string {
	b, err := json.Marshal(ops)
	if err != nil {
		panic(err) // plain values always marshal
	}
	return string(b)
}

func resID(group, version, kind, name string) resid.ResId {
	return resid.ResId{Gvk: resid.Gvk{Group: group, Version: version, Kind: kind}, Name: name}
}

func (s *service) applicationSet(m *Mapping) *ApplicationSet {
	cells := make([]string, len(m.Cells))
	for i, c := range m.Cells {
		cells[i] = c.Name
	}
	cellExpr := `{{index .metadata.labels "` + LabelCell + `"}}`
	labels := map[string]string{LabelService: s.name, LabelTeam: s.team, LabelManaged: "owl"}
	return &ApplicationSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "ApplicationSet"},
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: m.ArgoCD.Namespace, Labels: labels},
		Spec: ApplicationSetSpec{
			GoTemplate:        true,
			GoTemplateOptions: []string{"missingkey=error"},
			Generators: []ApplicationGenerator{{Clusters: &ClusterGenerator{Selector: metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: LabelCell, Operator: metav1.LabelSelectorOpIn, Values: cells}},
			}}}},
			Template: ApplicationTemplate{
				ApplicationMeta: ApplicationMeta{Name: s.name + "-" + cellExpr, Labels: labels},
				Spec: ApplicationSpec{
					Project: m.ArgoCD.Project,
					Source: ApplicationSource{
						RepoURL:        m.Git.RepoURL,
						TargetRevision: m.Git.Revision,
						Path:           path.Join(m.Git.Path, ServiceDir(s.name), "overlays") + "/" + cellExpr,
					},
					Destination: ApplicationDestination{Server: "{{.server}}", Namespace: s.namespace},
					SyncPolicy:  &SyncPolicy{Automated: &SyncPolicyAutomated{Prune: true, SelfHeal: true}, SyncOptions: []string{"CreateNamespace=true"}},
				},
			},
		},
	}
}

// encode renders v as JSON and YAML without the status and null
// creationTimestamp that the Kubernetes Go types always carry. The JSON is
// what gets validated; the YAML is what gets written.
func encode(v any) (jsonDoc, yamlDoc []byte, err error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, nil, err
	}
	if m, ok := generic.(map[string]any); ok {
		delete(m, "status") // generated objects have no status
	}
	generic = prune(generic)
	if jsonDoc, err = json.Marshal(generic); err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	enc := yamlv3.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(generic); err != nil {
		return nil, nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, nil, err
	}
	return jsonDoc, buf.Bytes(), nil
}

// prune drops empty and null noise and turns JSON numbers into Go numbers
// (integers stay integers in YAML).
func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			e = prune(e)
			t[k] = e
			if e == nil && k == "creationTimestamp" {
				delete(t, k)
			}
			if m, ok := e.(map[string]any); ok && len(m) == 0 && (k == "status" || k == "loadBalancer" || k == "resources") {
				delete(t, k)
			}
		}
	case []any:
		for i, e := range t {
			t[i] = prune(e)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

// splitDocs splits a multi-document YAML stream.
func splitDocs(b []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}
