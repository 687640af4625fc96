// Package migrate converts Amazon ECS services into Kubernetes GitOps
// manifests: a Kustomize base per service, an overlay per cell (one cluster
// per environment), Argo CD ApplicationSets, and a report of every ECS field
// that was mapped, approximated or could not be mapped.
//
// Every generated object is decoded strictly against the Kubernetes API
// types before it is written, so the output applies without surprises.
package migrate

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Mapping is the small file that says how a fleet lands on Kubernetes:
// cells, namespaces, registries, identities, secret stores and routing.
type Mapping struct {
	// Cells are the clusters every service is deployed to, one overlay each.
	Cells []Cell `json:"cells"`
	// DefaultNamespace is the namespace of a service no rule matches;
	// "{team}" and "{service}" are replaced. Default "{team}".
	DefaultNamespace string `json:"defaultNamespace,omitempty"`
	// Namespaces are rules tried in order: the first whose glob matches the
	// service name gives its namespace.
	Namespaces []NamespaceRule `json:"namespaces,omitempty"`
	// DefaultTeam owns services without a team tag or label.
	DefaultTeam string `json:"defaultTeam,omitempty"`
	// Registries rewrite image name prefixes, e.g. an ECR registry to a
	// pull-through cache.
	Registries []RegistryRewrite `json:"registries,omitempty"`
	// Roles maps IAM task role ARNs to service account names; unmapped roles
	// get a service account named after the service.
	Roles map[string]string `json:"roles,omitempty"`
	// Identity is how pods get AWS credentials: "irsa" (default) or
	// "pod-identity".
	Identity string `json:"identity,omitempty"`
	// SecretStores names the External Secrets ClusterSecretStores.
	SecretStores SecretStores `json:"secretStores,omitempty"`
	// Gateway is the Gateway API gateway that HTTPRoutes attach to; without
	// it services behind a load balancer get no route.
	Gateway *GatewayRef `json:"gateway,omitempty"`
	// Domain is the DNS suffix of service hostnames: SERVICE.CELL.DOMAIN.
	Domain string `json:"domain,omitempty"`
	// IPFamilies is "dual" (IPv6 first, default) or "ipv6" (IPv6 only).
	IPFamilies string `json:"ipFamilies,omitempty"`
	// Git is where the manifests live, for Argo CD.
	Git GitSource `json:"git"`
	// ArgoCD names the Argo CD namespace and project.
	ArgoCD ArgoCDSettings `json:"argocd,omitempty"`
	// Karpenter, when set, adds the cells' node pools: spot and on-demand,
	// arm64 and amd64, IPv6 instance metadata.
	Karpenter *KarpenterSettings `json:"karpenter,omitempty"`
	// Strategy is how services roll out a new version: "rolling" (default,
	// a Deployment), "canary" or "blue-green" (an Argo Rollouts Rollout).
	// A service's owl.dev/strategy tag or docker label overrides it.
	Strategy string `json:"strategy,omitempty"`
	// Canary shapes canary rollouts.
	Canary CanarySettings `json:"canary,omitempty"`
}

// Rollout strategies.
const (
	StrategyRolling   = "rolling"
	StrategyCanary    = "canary"
	StrategyBlueGreen = "blue-green"
)

var strategies = []string{StrategyRolling, StrategyCanary, StrategyBlueGreen}

// CanarySettings are the steps of a canary rollout.
type CanarySettings struct {
	// Weights are the canary's traffic percentages, in increasing order,
	// each followed by a pause; 100 is implied at the end. Default 5, 25, 50.
	Weights []int32 `json:"weights,omitempty"`
	// Pause is how long each weight is held, as a Go duration ("5m");
	// "0s" or "manual" waits for a promotion. Default 5m.
	Pause string `json:"pause,omitempty"`
}

// KarpenterSettings are the cluster-specific values of the node pools.
type KarpenterSettings struct {
	// NodeRole is the IAM role of the nodes.
	NodeRole string `json:"nodeRole"`
	// DiscoveryTag is the value of the karpenter.sh/discovery tag on the
	// cluster's subnets and security groups.
	DiscoveryTag string `json:"discoveryTag"`
	// CPULimit caps the CPUs of all nodes of a pool; default 1000.
	CPULimit int `json:"cpuLimit,omitempty"`
}

// Cell is one cluster of one environment.
type Cell struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	// MaxReplicas caps every service's replicas in this cell (e.g. 1 in
	// dev); 0 means no cap.
	MaxReplicas int32 `json:"maxReplicas,omitempty"`
	// Cluster is the EKS cluster's name, which EKS Pod Identity
	// associations name; default the cell's name.
	Cluster string `json:"cluster,omitempty"`
}

// NamespaceRule places services whose name matches Match (a glob) in
// Namespace.
type NamespaceRule struct {
	Match     string `json:"match"`
	Namespace string `json:"namespace"`
}

// RegistryRewrite replaces the image prefix From with To.
type RegistryRewrite struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// SecretStores names the ClusterSecretStores for SSM and Secrets Manager.
type SecretStores struct {
	SSM            string `json:"ssm,omitempty"`
	SecretsManager string `json:"secretsManager,omitempty"`
}

// GatewayRef is a Gateway API gateway.
type GatewayRef struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace,omitempty"`
	SectionName string `json:"sectionName,omitempty"`
}

// GitSource is the repository Argo CD reads the manifests from.
type GitSource struct {
	RepoURL  string `json:"repoURL"`
	Revision string `json:"revision,omitempty"`
	// Path is the folder of the output inside the repository.
	Path string `json:"path,omitempty"`
}

// ArgoCDSettings names where Argo CD objects go.
type ArgoCDSettings struct {
	Namespace string `json:"namespace,omitempty"`
	Project   string `json:"project,omitempty"`
}

// LoadMapping reads and checks a mapping file.
func LoadMapping(file string) (*Mapping, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read mapping: %w", err)
	}
	m, err := ParseMapping(data)
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", file, err)
	}
	return m, nil
}

// ParseMapping parses a mapping file (YAML or JSON), rejecting unknown
// fields, and fills in defaults.
func ParseMapping(data []byte) (*Mapping, error) {
	var m Mapping
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		return nil, err
	}
	if err := m.complete(); err != nil {
		return nil, err
	}
	return &m, nil
}

// DefaultMapping is the mapping used without a mapping file: cells dev,
// staging and prod.
func DefaultMapping() *Mapping {
	m := &Mapping{
		Cells: []Cell{{Name: "dev", Environment: "dev", MaxReplicas: 1}, {Name: "staging", Environment: "staging", MaxReplicas: 2}, {Name: "prod", Environment: "prod"}},
		Git:   GitSource{RepoURL: "https://git.example.com/platform/deploy.git"},
	}
	if err := m.complete(); err != nil {
		panic(err) // the defaults are valid; TestParseMapping checks them
	}
	return m
}

func (m *Mapping) complete() error {
	if len(m.Cells) == 0 {
		return fmt.Errorf("cells: at least one cell is needed")
	}
	seen := map[string]bool{}
	for i, c := range m.Cells {
		if !isDNSLabel(c.Name) {
			return fmt.Errorf("cells[%d].name %q: want a DNS label (lower-case letters, digits, '-')", i, c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("cells[%d].name %q used twice", i, c.Name)
		}
		seen[c.Name] = true
		if c.MaxReplicas < 0 {
			return fmt.Errorf("cells[%d].maxReplicas %d is negative", i, c.MaxReplicas)
		}
		if m.Cells[i].Environment == "" {
			m.Cells[i].Environment = c.Name
		}
		if m.Cells[i].Cluster == "" {
			m.Cells[i].Cluster = c.Name
		}
	}
	for i, r := range m.Namespaces {
		if _, err := path.Match(r.Match, ""); err != nil {
			return fmt.Errorf("namespaces[%d].match %q: %w", i, r.Match, err)
		}
		if !isDNSLabel(r.Namespace) {
			return fmt.Errorf("namespaces[%d].namespace %q: want a DNS label", i, r.Namespace)
		}
	}
	for i, r := range m.Registries {
		if r.From == "" {
			return fmt.Errorf("registries[%d].from: missing", i)
		}
	}
	for arn, sa := range m.Roles {
		if !isDNSLabel(sa) {
			return fmt.Errorf("roles[%q] %q: want a service account name (DNS label)", arn, sa)
		}
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&m.DefaultNamespace, "{team}")
	def(&m.DefaultTeam, "unowned")
	def(&m.Identity, "irsa")
	def(&m.IPFamilies, "dual")
	def(&m.SecretStores.SSM, "aws-parameter-store")
	def(&m.SecretStores.SecretsManager, "aws-secrets-manager")
	def(&m.Domain, "example.com")
	def(&m.Git.Revision, "HEAD")
	def(&m.ArgoCD.Namespace, "argocd")
	def(&m.ArgoCD.Project, "default")
	def(&m.Strategy, StrategyRolling)
	def(&m.Canary.Pause, "5m")
	if m.Canary.Weights == nil {
		m.Canary.Weights = []int32{5, 25, 50}
	}
	if !slices.Contains(strategies, m.Strategy) {
		return fmt.Errorf("strategy %q: want %s", m.Strategy, strings.Join(strategies, ", "))
	}
	for i, w := range m.Canary.Weights {
		if w < 1 || w > 99 || (i > 0 && w <= m.Canary.Weights[i-1]) {
			return fmt.Errorf("canary.weights[%d] %d: want increasing percentages between 1 and 99", i, w)
		}
	}
	if m.Canary.Pause != "manual" {
		if _, err := time.ParseDuration(m.Canary.Pause); err != nil {
			return fmt.Errorf("canary.pause %q: want a duration such as 5m, or manual", m.Canary.Pause)
		}
	}
	if !slices.Contains([]string{"irsa", "pod-identity"}, m.Identity) {
		return fmt.Errorf("identity %q: want irsa or pod-identity", m.Identity)
	}
	if !slices.Contains([]string{"dual", "ipv6"}, m.IPFamilies) {
		return fmt.Errorf("ipFamilies %q: want dual or ipv6", m.IPFamilies)
	}
	if m.Git.RepoURL == "" {
		return fmt.Errorf("git.repoURL: missing; Argo CD needs the repository of the manifests")
	}
	if k := m.Karpenter; k != nil {
		if k.NodeRole == "" || k.DiscoveryTag == "" {
			return fmt.Errorf("karpenter: nodeRole and discoveryTag are needed")
		}
		if k.CPULimit == 0 {
			k.CPULimit = 1000
		}
	}
	if g := m.Gateway; g != nil && g.Name == "" {
		return fmt.Errorf("gateway.name: missing")
	}
	return nil
}

// namespaceFor applies the namespace rules.
func (m *Mapping) namespaceFor(service, team string) string {
	for _, r := range m.Namespaces {
		if ok, _ := path.Match(r.Match, service); ok {
			return r.Namespace
		}
	}
	ns := strings.NewReplacer("{team}", team, "{service}", service).Replace(m.DefaultNamespace)
	return dnsLabel(ns)
}

// rewriteImage applies the first registry rewrite whose prefix matches.
func (m *Mapping) rewriteImage(image string) (string, bool) {
	for _, r := range m.Registries {
		if rest, ok := strings.CutPrefix(image, r.From); ok {
			return r.To + rest, true
		}
	}
	return image, false
}

func isDNSLabel(s string) bool {
	return s != "" && len(s) <= 63 && dnsLabel(s) == s
}

// dnsLabel turns s into an RFC 1123 label: lower case, letters, digits and
// '-', at most 63 characters, starting and ending with a letter or digit.
func dnsLabel(s string) string {
	b := make([]byte, 0, len(s))
	for i := range len(s) {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			if len(b) > 0 && b[len(b)-1] != '-' {
				b = append(b, '-')
			}
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	out := strings.Trim(string(b), "-")
	if out == "" {
		return "x"
	}
	return out
}
