package migrate

import (
	"bytes"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodePoolsFile is where the cluster's Karpenter objects go in the output.
const NodePoolsFile = "cluster/karpenter.yaml"

// nodePools returns the Karpenter objects of every cell: one EC2NodeClass
// (Bottlerocket, IPv6 instance metadata) and two NodePools, spot (preferred,
// weight 100) and on-demand, both allowing arm64 (Graviton) and amd64.
func nodePools(k *KarpenterSettings) []any {
	class := &EC2NodeClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: "karpenter.k8s.aws/v1", Kind: "EC2NodeClass"},
		ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: map[string]string{LabelManaged: "owl"}},
		Spec: EC2NodeClassSpec{
			Role:                       k.NodeRole,
			AMISelectorTerms:           []SelectorTerm{{Alias: "bottlerocket@latest"}},
			SubnetSelectorTerms:        []SelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": k.DiscoveryTag}}},
			SecurityGroupSelectorTerms: []SelectorTerm{{Tags: map[string]string{"karpenter.sh/discovery": k.DiscoveryTag}}},
			MetadataOptions:            &MetadataOptions{HTTPEndpoint: "enabled", HTTPProtocolIPv6: "enabled", HTTPPutResponseHopLimit: 1, HTTPTokens: "required"},
		},
	}
	pool := func(name, capacity string, weight int32) *NodePool {
		return &NodePool{
			TypeMeta:   metav1.TypeMeta{APIVersion: "karpenter.sh/v1", Kind: "NodePool"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelManaged: "owl"}},
			Spec: NodePoolSpec{
				Weight: weight,
				Template: NodeClaimTemplate{Spec: NodeClaimSpec{
					NodeClassRef: NodeClassRef{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: "default"},
					Requirements: []corev1.NodeSelectorRequirement{
						{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64", "amd64"}},
						{Key: "kubernetes.io/os", Operator: corev1.NodeSelectorOpIn, Values: []string{"linux"}},
						{Key: "karpenter.sh/capacity-type", Operator: corev1.NodeSelectorOpIn, Values: []string{capacity}},
						{Key: "karpenter.k8s.aws/instance-category", Operator: corev1.NodeSelectorOpIn, Values: []string{"c", "m", "r"}},
						{Key: "karpenter.k8s.aws/instance-generation", Operator: corev1.NodeSelectorOpGt, Values: []string{"5"}},
					},
					ExpireAfter: "720h",
				}},
				Limits:     corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(strconv.Itoa(k.CPULimit))},
				Disruption: &Disruption{ConsolidationPolicy: "WhenEmptyOrUnderutilized", ConsolidateAfter: "1m"},
			},
		}
	}
	return []any{class, pool("spot", "spot", 100), pool("on-demand", "on-demand", 10)}
}

// renderStream renders objects as one multi-document YAML stream.
func renderStream(v *Validator, objs []any) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		b, err := v.Render(o)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// NodePool is a Karpenter NodePool (karpenter.sh/v1): which nodes Karpenter
// may launch.
type NodePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              NodePoolSpec `json:"spec"`
}

// NodePoolSpec is the node template, limits and disruption policy.
type NodePoolSpec struct {
	Template   NodeClaimTemplate   `json:"template"`
	Limits     corev1.ResourceList `json:"limits,omitempty"`
	Disruption *Disruption         `json:"disruption,omitempty"`
	Weight     int32               `json:"weight,omitempty"`
}

// NodeClaimTemplate describes the nodes of a NodePool.
type NodeClaimTemplate struct {
	Metadata *NodeClaimMeta `json:"metadata,omitempty"`
	Spec     NodeClaimSpec  `json:"spec"`
}

// NodeClaimMeta is the labels of the nodes.
type NodeClaimMeta struct {
	Labels map[string]string `json:"labels,omitempty"`
}

// NodeClaimSpec is the requirements and class of the nodes.
type NodeClaimSpec struct {
	NodeClassRef NodeClassRef                     `json:"nodeClassRef"`
	Requirements []corev1.NodeSelectorRequirement `json:"requirements"`
	ExpireAfter  string                           `json:"expireAfter,omitempty"`
	Taints       []corev1.Taint                   `json:"taints,omitempty"`
}

// NodeClassRef names the EC2NodeClass of a NodePool.
type NodeClassRef struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
}

// Disruption is when Karpenter may replace nodes.
type Disruption struct {
	ConsolidationPolicy string `json:"consolidationPolicy,omitempty"`
	ConsolidateAfter    string `json:"consolidateAfter,omitempty"`
}

// EC2NodeClass is a Karpenter EC2NodeClass (karpenter.k8s.aws/v1): the AMI,
// subnets, security groups and role of the nodes.
type EC2NodeClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              EC2NodeClassSpec `json:"spec"`
}

// EC2NodeClassSpec is the EC2 side of the nodes.
type EC2NodeClassSpec struct {
	Role                       string           `json:"role"`
	AMISelectorTerms           []SelectorTerm   `json:"amiSelectorTerms"`
	SubnetSelectorTerms        []SelectorTerm   `json:"subnetSelectorTerms"`
	SecurityGroupSelectorTerms []SelectorTerm   `json:"securityGroupSelectorTerms"`
	MetadataOptions            *MetadataOptions `json:"metadataOptions,omitempty"`
}

// SelectorTerm selects AWS resources by alias, id or tags.
type SelectorTerm struct {
	Alias string            `json:"alias,omitempty"`
	ID    string            `json:"id,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
}

// MetadataOptions configures the instance metadata service of the nodes.
type MetadataOptions struct {
	HTTPEndpoint            string `json:"httpEndpoint,omitempty"`
	HTTPProtocolIPv6        string `json:"httpProtocolIPv6,omitempty"`
	HTTPPutResponseHopLimit int    `json:"httpPutResponseHopLimit,omitempty"`
	HTTPTokens              string `json:"httpTokens,omitempty"`
}
