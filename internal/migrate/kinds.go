package migrate

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The kinds below belong to projects whose Go modules would pull in far more
// than owl needs (Argo CD, Argo Rollouts, External Secrets, Karpenter, ACK); these structs carry
// the fields owl writes, and strict decoding against them catches typos.

// ExternalSecret is an External Secrets Operator ExternalSecret
// (external-secrets.io/v1).
type ExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ExternalSecretSpec `json:"spec"`
}

// ExternalSecretSpec says which store to read and what Secret to write.
type ExternalSecretSpec struct {
	RefreshInterval string               `json:"refreshInterval,omitempty"`
	SecretStoreRef  SecretStoreRef       `json:"secretStoreRef"`
	Target          ExternalSecretTarget `json:"target"`
	Data            []ExternalSecretData `json:"data"`
}

// SecretStoreRef names a SecretStore or ClusterSecretStore.
type SecretStoreRef struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// ExternalSecretTarget is the Kubernetes Secret to write.
type ExternalSecretTarget struct {
	Name           string `json:"name"`
	CreationPolicy string `json:"creationPolicy,omitempty"`
}

// ExternalSecretData is one key of the Secret and where its value comes from.
type ExternalSecretData struct {
	SecretKey string    `json:"secretKey"`
	RemoteRef RemoteRef `json:"remoteRef"`
}

// RemoteRef is a secret in the provider: key, JSON property and version
// ("uuid/ID" for a Secrets Manager version id, else a version stage).
type RemoteRef struct {
	Key      string `json:"key"`
	Property string `json:"property,omitempty"`
	Version  string `json:"version,omitempty"`
}

// ApplicationSet is an Argo CD ApplicationSet (argoproj.io/v1alpha1).
type ApplicationSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ApplicationSetSpec `json:"spec"`
}

// ApplicationSetSpec generates Applications from a template.
type ApplicationSetSpec struct {
	GoTemplate        bool                   `json:"goTemplate,omitempty"`
	GoTemplateOptions []string               `json:"goTemplateOptions,omitempty"`
	Generators        []ApplicationGenerator `json:"generators"`
	Template          ApplicationTemplate    `json:"template"`
}

// ApplicationGenerator is one generator of an ApplicationSet; owl uses the
// cluster generator (one Application per cell) and the pull-request
// generator (ephemeral environments).
type ApplicationGenerator struct {
	Clusters    *ClusterGenerator     `json:"clusters,omitempty"`
	PullRequest *PullRequestGenerator `json:"pullRequest,omitempty"`
}

// ClusterGenerator selects the clusters registered in Argo CD by label.
type ClusterGenerator struct {
	Selector metav1.LabelSelector `json:"selector"`
}

// PullRequestGenerator makes one Application per open pull request.
type PullRequestGenerator struct {
	GitHub              *PullRequestGitHub `json:"github,omitempty"`
	RequeueAfterSeconds int                `json:"requeueAfterSeconds,omitempty"`
}

// PullRequestGitHub selects the pull requests of a GitHub repository.
type PullRequestGitHub struct {
	Owner  string   `json:"owner"`
	Repo   string   `json:"repo"`
	Labels []string `json:"labels,omitempty"`
}

// ApplicationTemplate is the Application an ApplicationSet stamps out.
type ApplicationTemplate struct {
	ApplicationMeta `json:"metadata"`
	Spec            ApplicationSpec `json:"spec"`
}

// ApplicationMeta is the metadata of a templated Application.
type ApplicationMeta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Application is an Argo CD Application (argoproj.io/v1alpha1).
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ApplicationSpec `json:"spec"`
}

// ApplicationSpec is what Argo CD syncs, and where to.
type ApplicationSpec struct {
	Project     string                 `json:"project"`
	Source      ApplicationSource      `json:"source"`
	Destination ApplicationDestination `json:"destination"`
	SyncPolicy  *SyncPolicy            `json:"syncPolicy,omitempty"`
}

// ApplicationSource is a folder of a Git repository.
type ApplicationSource struct {
	RepoURL        string                      `json:"repoURL"`
	TargetRevision string                      `json:"targetRevision"`
	Path           string                      `json:"path"`
	Kustomize      *ApplicationSourceKustomize `json:"kustomize,omitempty"`
}

// ApplicationSourceKustomize overrides a kustomization at sync time.
type ApplicationSourceKustomize struct {
	Namespace    string            `json:"namespace,omitempty"`
	CommonLabels map[string]string `json:"commonLabels,omitempty"`
	Patches      []KustomizePatch  `json:"patches,omitempty"`
}

// KustomizePatch is a patch Argo CD applies to a kustomization.
type KustomizePatch struct {
	Target KustomizeTarget `json:"target"`
	Patch  string          `json:"patch"`
}

// KustomizeTarget selects the objects a patch applies to.
type KustomizeTarget struct {
	Group   string `json:"group,omitempty"`
	Version string `json:"version,omitempty"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
}

// ApplicationDestination is a cluster and namespace.
type ApplicationDestination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace"`
}

// SyncPolicy makes Argo CD sync by itself.
type SyncPolicy struct {
	Automated   *SyncPolicyAutomated `json:"automated,omitempty"`
	SyncOptions []string             `json:"syncOptions,omitempty"`
}

// SyncPolicyAutomated turns on automatic sync, pruning and self-healing.
type SyncPolicyAutomated struct {
	Prune    bool `json:"prune,omitempty"`
	SelfHeal bool `json:"selfHeal,omitempty"`
}

// Rollout is an Argo Rollouts Rollout (argoproj.io/v1alpha1): a Deployment
// whose updates go out as a canary or as blue-green.
type Rollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              RolloutSpec `json:"spec"`
}

// RolloutSpec is a Deployment's spec with a Rollouts strategy.
type RolloutSpec struct {
	Replicas                *int32                 `json:"replicas,omitempty"`
	Selector                *metav1.LabelSelector  `json:"selector"`
	Template                corev1.PodTemplateSpec `json:"template"`
	MinReadySeconds         int32                  `json:"minReadySeconds,omitempty"`
	RevisionHistoryLimit    *int32                 `json:"revisionHistoryLimit,omitempty"`
	ProgressDeadlineSeconds *int32                 `json:"progressDeadlineSeconds,omitempty"`
	ProgressDeadlineAbort   bool                   `json:"progressDeadlineAbort,omitempty"`
	Strategy                RolloutStrategy        `json:"strategy"`
}

// RolloutStrategy is exactly one of Canary and BlueGreen.
type RolloutStrategy struct {
	Canary    *CanaryStrategy    `json:"canary,omitempty"`
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
}

// CanaryStrategy shifts weight to the new version step by step.
type CanaryStrategy struct {
	// CanaryService and StableService select the new and the old pods;
	// traffic routing needs both.
	CanaryService  string              `json:"canaryService,omitempty"`
	StableService  string              `json:"stableService,omitempty"`
	MaxSurge       *intstr.IntOrString `json:"maxSurge,omitempty"`
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	TrafficRouting *RolloutTraffic     `json:"trafficRouting,omitempty"`
	Steps          []CanaryStep        `json:"steps,omitempty"`
}

// RolloutTraffic names the traffic router plugin and its configuration,
// e.g. argoproj-labs/gatewayAPI with the HTTPRoute to re-weight.
type RolloutTraffic struct {
	Plugins map[string]GatewayAPIPlugin `json:"plugins,omitempty"`
}

// GatewayAPIPlugin configures the argoproj-labs/gatewayAPI traffic router.
type GatewayAPIPlugin struct {
	HTTPRoute string `json:"httpRoute"`
	Namespace string `json:"namespace"`
}

// CanaryStep is one step: a weight to set or a pause.
type CanaryStep struct {
	SetWeight *int32        `json:"setWeight,omitempty"`
	Pause     *RolloutPause `json:"pause,omitempty"`
}

// RolloutPause pauses for Duration, or until promoted when it is empty.
type RolloutPause struct {
	Duration string `json:"duration,omitempty"`
}

// BlueGreenStrategy runs the new version beside the old one behind a
// preview Service, then switches the active Service over.
type BlueGreenStrategy struct {
	ActiveService         string `json:"activeService"`
	PreviewService        string `json:"previewService,omitempty"`
	AutoPromotionEnabled  *bool  `json:"autoPromotionEnabled,omitempty"`
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
}

// PodIdentityAssociation is an EKS Pod Identity association as the AWS
// Controllers for Kubernetes (ACK) EKS controller manages it
// (eks.services.k8s.aws/v1alpha1): it gives a service account an IAM role
// in one cluster.
type PodIdentityAssociation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              PodIdentityAssociationSpec `json:"spec"`
}

// PodIdentityAssociationSpec names the cluster, service account and role.
type PodIdentityAssociationSpec struct {
	ClusterName    string `json:"clusterName"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	RoleARN        string `json:"roleARN"`
}
