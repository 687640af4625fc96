package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// Labels of ephemeral environments.
const (
	LabelEphemeral = "owl.dev/ephemeral"
	// LabelExpiresAt is the Unix time after which gc removes the
	// environment (a label value cannot hold an RFC 3339 time).
	LabelExpiresAt = "owl.dev/expires-at"
)

// Ephemeral is a short-lived environment: chosen services in their own
// namespace with one replica each and their own hostnames.
type Ephemeral struct {
	Name     string
	Services []string
	Cell     string // the cluster it runs in
	Expires  time.Time
}

// EphemeralDir is the folder of an ephemeral environment in the output.
func EphemeralDir(name string) string { return "ephemeral/" + name }

func ephemeralApp(name string) string { return "argocd/ephemeral-" + name + ".yaml" }

// EphemeralOwned returns the paths an ephemeral environment owns.
func EphemeralOwned(name string) []string {
	return []string{EphemeralDir(name) + "/", ephemeralApp(name)}
}

// EphemeralFiles returns the files of an ephemeral environment: an overlay
// of the services' bases (already converted under out) and an Argo CD
// Application with the resources finalizer, so that deleting it deletes
// the environment.
func EphemeralFiles(m *Mapping, out string, e Ephemeral) (map[string][]byte, error) {
	if !isDNSLabel(e.Name) || len(e.Name) > 40 {
		return nil, fmt.Errorf("ephemeral name %q: want a DNS label of at most 40 characters", e.Name)
	}
	if len(e.Services) == 0 {
		return nil, fmt.Errorf("ephemeral %s: no services", e.Name)
	}
	if !slices.ContainsFunc(m.Cells, func(c Cell) bool { return c.Name == e.Cell }) {
		return nil, fmt.Errorf("ephemeral %s: no cell %q in the mapping", e.Name, e.Cell)
	}
	ns := "eph-" + e.Name
	k, err := ephemeralOverlay(out, EphemeralDir(e.Name), e.Services, e.Name+".eph."+m.Domain)
	if err != nil {
		return nil, err
	}
	k.Namespace = ns
	k.Labels = append(k.Labels, ktypes.Label{Pairs: map[string]string{LabelEphemeral: e.Name, LabelExpiresAt: strconv.FormatInt(e.Expires.Unix(), 10)}})
	v, err := NewValidator()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	if files[EphemeralDir(e.Name)+"/kustomization.yaml"], err = v.Render(k); err != nil {
		return nil, err
	}
	app := &Application{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "eph-" + e.Name, Namespace: m.ArgoCD.Namespace,
			Labels:      map[string]string{LabelEphemeral: e.Name, LabelExpiresAt: strconv.FormatInt(e.Expires.Unix(), 10), LabelManaged: "owl"},
			Annotations: map[string]string{"owl.dev/expires": e.Expires.UTC().Format(time.RFC3339)},
			Finalizers:  []string{"resources-finalizer.argocd.argoproj.io"},
		},
		Spec: ApplicationSpec{
			Project:     m.ArgoCD.Project,
			Source:      ApplicationSource{RepoURL: m.Git.RepoURL, TargetRevision: m.Git.Revision, Path: path.Join(m.Git.Path, EphemeralDir(e.Name))},
			Destination: ApplicationDestination{Name: e.Cell, Namespace: ns},
			SyncPolicy:  &SyncPolicy{Automated: &SyncPolicyAutomated{Prune: true, SelfHeal: true}, SyncOptions: []string{"CreateNamespace=true"}},
		},
	}
	if files[ephemeralApp(e.Name)], err = v.Render(app); err != nil {
		return nil, err
	}
	return files, nil
}

// ephemeralOverlay is a kustomization of the services' bases with one
// replica each and hostnames under domain.
func ephemeralOverlay(out, dir string, services []string, domain string) (*ktypes.Kustomization, error) {
	k := &ktypes.Kustomization{TypeMeta: ktypes.TypeMeta{APIVersion: ktypes.KustomizationVersion, Kind: ktypes.KustomizationKind}}
	up, err := filepath.Rel(filepath.FromSlash(dir), ".")
	if err != nil {
		return nil, err
	}
	for _, s := range services {
		base := ServiceDir(s) + "/base"
		if _, err := os.Stat(filepath.Join(out, base, "kustomization.yaml")); err != nil {
			return nil, fmt.Errorf("service %s: no converted base in %s: run owl migrate convert first", s, out)
		}
		k.Resources = append(k.Resources, path.Join(filepath.ToSlash(up), base))
		if exists(filepath.Join(out, base, "hpa.yaml")) {
			k.Patches = append(k.Patches, ktypes.Patch{
				Target: &ktypes.Selector{ResId: resID("autoscaling", "v2", "HorizontalPodAutoscaler", s)},
				Patch:  jsonPatch([]patchOp{{Op: "replace", Path: "/spec/minReplicas", Value: 1}, {Op: "replace", Path: "/spec/maxReplicas", Value: 1}}),
			})
		} else {
			k.Replicas = append(k.Replicas, ktypes.Replica{Name: s, Count: 1})
		}
		if exists(filepath.Join(out, base, "httproute.yaml")) {
			k.Patches = append(k.Patches, ktypes.Patch{
				Target: &ktypes.Selector{ResId: resID("gateway.networking.k8s.io", "v1", "HTTPRoute", s)},
				Patch:  jsonPatch([]patchOp{{Op: "replace", Path: "/spec/hostnames", Value: []string{s + "." + domain}}}),
			})
		}
	}
	return k, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Expired returns the names of the ephemeral environments under out whose
// expiry is before now.
func Expired(out string, now time.Time) ([]string, error) {
	dirs, err := os.ReadDir(filepath.Join(out, "ephemeral"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var expired []string
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "pr" {
			continue
		}
		file := filepath.Join(out, "ephemeral", d.Name(), "kustomization.yaml")
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var k ktypes.Kustomization
		if err := yaml.UnmarshalStrict(b, &k); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		at := ""
		for _, l := range k.Labels {
			if v, ok := l.Pairs[LabelExpiresAt]; ok {
				at = v
			}
		}
		secs, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: label %s %q is not a Unix time", file, LabelExpiresAt, at)
		}
		if time.Unix(secs, 0).Before(now) {
			expired = append(expired, d.Name())
		}
	}
	return expired, nil
}

// RemoveEphemeral deletes the files of an ephemeral environment; Argo CD
// then deletes the Application and, through its finalizer, the resources.
func RemoveEphemeral(out, name string) error {
	if !isDNSLabel(name) {
		return fmt.Errorf("ephemeral name %q: want a DNS label", name)
	}
	dir := filepath.Join(out, filepath.FromSlash(EphemeralDir(name)))
	if !exists(dir) {
		return fmt.Errorf("no ephemeral environment %s in %s", name, out)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(out, filepath.FromSlash(ephemeralApp(name)))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// PullRequestFiles returns a preview environment per pull request: the
// overlay ephemeral/pr of the services, and an ApplicationSet whose
// pull-request generator makes one Application per open pull request with
// the label "preview" (namespace pr-NUMBER, the pull request's head commit).
// When the pull request closes, the generator deletes the Application and
// its finalizer deletes the environment.
func PullRequestFiles(m *Mapping, out string, services []string, owner, repo, cell string) (map[string][]byte, error) {
	if len(services) == 0 {
		return nil, errors.New("pull-request environments: no services")
	}
	if !slices.ContainsFunc(m.Cells, func(c Cell) bool { return c.Name == cell }) {
		return nil, fmt.Errorf("pull-request environments: no cell %q in the mapping", cell)
	}
	dir := EphemeralDir("pr")
	k, err := ephemeralOverlay(out, dir, services, "pr.eph."+m.Domain)
	if err != nil {
		return nil, err
	}
	v, err := NewValidator()
	if err != nil {
		return nil, err
	}
	var patches []KustomizePatch
	for _, p := range k.Patches {
		if p.Target.Kind == "HTTPRoute" {
			patches = append(patches, KustomizePatch{
				Target: KustomizeTarget{Group: p.Target.Group, Version: p.Target.Version, Kind: p.Target.Kind, Name: p.Target.Name},
				Patch:  jsonPatch([]patchOp{{Op: "replace", Path: "/spec/hostnames", Value: []string{p.Target.Name + ".pr-{{.number}}.eph." + m.Domain}}}),
			})
		}
	}
	set := &ApplicationSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "ApplicationSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "ephemeral-pr", Namespace: m.ArgoCD.Namespace, Labels: map[string]string{LabelManaged: "owl"}},
		Spec: ApplicationSetSpec{
			GoTemplate:        true,
			GoTemplateOptions: []string{"missingkey=error"},
			Generators:        []ApplicationGenerator{{PullRequest: &PullRequestGenerator{GitHub: &PullRequestGitHub{Owner: owner, Repo: repo, Labels: []string{"preview"}}, RequeueAfterSeconds: 300}}},
			Template: ApplicationTemplate{
				ApplicationMeta: ApplicationMeta{Name: "pr-{{.number}}", Labels: map[string]string{LabelEphemeral: "pr-{{.number}}"}},
				Spec: ApplicationSpec{
					Project: m.ArgoCD.Project,
					Source: ApplicationSource{
						RepoURL: m.Git.RepoURL, TargetRevision: "{{.head_sha}}", Path: path.Join(m.Git.Path, dir),
						Kustomize: &ApplicationSourceKustomize{Namespace: "pr-{{.number}}", CommonLabels: map[string]string{LabelEphemeral: "pr-{{.number}}"}, Patches: patches},
					},
					Destination: ApplicationDestination{Name: cell, Namespace: "pr-{{.number}}"},
					SyncPolicy:  &SyncPolicy{Automated: &SyncPolicyAutomated{Prune: true, SelfHeal: true}, SyncOptions: []string{"CreateNamespace=true"}},
				},
			},
		},
	}
	files := map[string][]byte{}
	if files[dir+"/kustomization.yaml"], err = v.Render(k); err != nil {
		return nil, err
	}
	if files["argocd/ephemeral-pr.yaml"], err = v.Render(set); err != nil {
		return nil, err
	}
	return files, nil
}
