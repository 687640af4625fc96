package migrate

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	ktypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// Validator decodes manifests strictly: unknown or duplicate fields and
// wrong types are errors. Kubernetes kinds are decoded with client-go's
// scheme, Gateway API kinds with its types, and the kinds of Argo CD,
// External Secrets, Karpenter and Kustomize with owl's structs.
type Validator struct {
	decoder runtime.Decoder
	scheme  *runtime.Scheme
	local   map[schema.GroupVersionKind]func() any
}

// NewValidator returns a Validator.
func NewValidator() (*Validator, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("kubernetes scheme: %w", err)
	}
	if err := gatewayv1.Install(s); err != nil {
		return nil, fmt.Errorf("gateway API scheme: %w", err)
	}
	gvk := func(gv, kind string) schema.GroupVersionKind {
		return schema.FromAPIVersionAndKind(gv, kind)
	}
	return &Validator{
		decoder: serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer(),
		scheme:  s,
		local: map[schema.GroupVersionKind]func() any{
			gvk("external-secrets.io/v1", "ExternalSecret"):                func() any { return &ExternalSecret{} },
			gvk("argoproj.io/v1alpha1", "ApplicationSet"):                  func() any { return &ApplicationSet{} },
			gvk("argoproj.io/v1alpha1", "Application"):                     func() any { return &Application{} },
			gvk("argoproj.io/v1alpha1", "Rollout"):                         func() any { return &Rollout{} },
			gvk("eks.services.k8s.aws/v1alpha1", "PodIdentityAssociation"): func() any { return &PodIdentityAssociation{} },
			gvk("karpenter.sh/v1", "NodePool"):                             func() any { return &NodePool{} },
			gvk("karpenter.k8s.aws/v1", "EC2NodeClass"):                    func() any { return &EC2NodeClass{} },
			gvk(ktypes.KustomizationVersion, ktypes.KustomizationKind):     func() any { return &ktypes.Kustomization{} },
		},
	}, nil
}

// Validate decodes one YAML or JSON document strictly.
func (v *Validator) Validate(doc []byte) error {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("not a Kubernetes object: %w", err)
	}
	return v.validateJSON(j)
}

func (v *Validator) validateJSON(doc []byte) error {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(doc, &tm); err != nil {
		return fmt.Errorf("not a Kubernetes object: %w", err)
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	if newObj, ok := v.local[gvk]; ok {
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		if err := dec.Decode(newObj()); err != nil {
			return fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
		}
		return nil
	}
	if !v.scheme.Recognizes(gvk) {
		return fmt.Errorf("%s %s: unknown kind", tm.APIVersion, tm.Kind)
	}
	if _, _, err := v.decoder.Decode(doc, nil, nil); err != nil {
		return fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return nil
}

// ValidateStream validates every document of a multi-document YAML stream.
func (v *Validator) ValidateStream(b []byte) error {
	for i, d := range splitDocs(b) {
		if err := v.Validate(d); err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
	}
	return nil
}

// Render renders obj as YAML after validating it.
func (v *Validator) Render(obj any) ([]byte, error) {
	j, y, err := encode(obj)
	if err != nil {
		return nil, err
	}
	if err := v.validateJSON(j); err != nil {
		return nil, fmt.Errorf("generated object fails strict decoding: %w", err)
	}
	return y, nil
}
