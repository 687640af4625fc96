package ecs

import (
	"fmt"
	"regexp"
	"strings"
)

// SecretSource is where an ECS secret lives.
type SecretSource string

// The secret sources ECS supports.
const (
	SSM            SecretSource = "ssm"
	SecretsManager SecretSource = "secretsmanager"
)

// SecretRef is an ECS secret's valueFrom, parsed.
type SecretRef struct {
	Source SecretSource
	// Key is the SSM parameter name (never its ARN), or the Secrets Manager
	// secret ARN without the ECS suffixes.
	Key string
	// JSONKey, VersionStage and VersionID are the optional Secrets Manager
	// suffixes ":json-key:version-stage:version-id".
	JSONKey      string
	VersionStage string
	VersionID    string
}

var ssmName = regexp.MustCompile(`^[A-Za-z0-9_.\-/]+$`)

// ParseSecretRef parses a valueFrom: an SSM parameter name or ARN, or a
// Secrets Manager secret ARN with optional
// ":json-key:version-stage:version-id" suffixes.
func ParseSecretRef(valueFrom string) (SecretRef, error) {
	if !strings.HasPrefix(valueFrom, "arn:") {
		if len(valueFrom) > 2048 || !ssmName.MatchString(valueFrom) || strings.Contains(valueFrom[1:], "//") ||
			(strings.Contains(valueFrom, "/") && !strings.HasPrefix(valueFrom, "/")) {
			return SecretRef{}, fmt.Errorf("valueFrom %q is neither an SSM parameter name nor an SSM or Secrets Manager ARN", valueFrom)
		}
		return SecretRef{Source: SSM, Key: valueFrom}, nil
	}
	// arn:partition:service:region:account:resource
	parts := strings.SplitN(valueFrom, ":", 6)
	if len(parts) >= 3 && parts[2] != "ssm" && parts[2] != "secretsmanager" {
		return SecretRef{}, fmt.Errorf("valueFrom %q is an ARN of service %q, neither an SSM parameter nor a Secrets Manager secret", valueFrom, parts[2])
	}
	if len(parts) < 6 || parts[1] == "" || parts[4] == "" {
		return SecretRef{}, fmt.Errorf("valueFrom %q is not a well-formed ARN (arn:partition:service:region:account:resource)", valueFrom)
	}
	resource := parts[5]
	switch parts[2] {
	case "ssm":
		name, ok := strings.CutPrefix(resource, "parameter/")
		if !ok || name == "" || !ssmName.MatchString(name) {
			return SecretRef{}, fmt.Errorf("valueFrom %q is an SSM ARN but not of a parameter (want ...:parameter/NAME)", valueFrom)
		}
		// Hierarchical names keep their leading slash out of the ARN.
		if strings.Contains(name, "/") {
			name = "/" + name
		}
		return SecretRef{Source: SSM, Key: name}, nil
	case "secretsmanager":
		rest, ok := strings.CutPrefix(resource, "secret:")
		if !ok || rest == "" {
			return SecretRef{}, fmt.Errorf("valueFrom %q is a Secrets Manager ARN but not of a secret (want ...:secret:NAME)", valueFrom)
		}
		f := strings.Split(rest, ":")
		if len(f) > 4 {
			return SecretRef{}, fmt.Errorf("valueFrom %q has %d suffixes after the secret name; at most json-key:version-stage:version-id", valueFrom, len(f)-1)
		}
		if f[0] == "" {
			return SecretRef{}, fmt.Errorf("valueFrom %q has an empty secret name", valueFrom)
		}
		f = append(f, "", "", "")
		ref := SecretRef{Source: SecretsManager, Key: strings.Join(parts[:5], ":") + ":secret:" + f[0], JSONKey: f[1], VersionStage: f[2], VersionID: f[3]}
		if ref.VersionStage != "" && ref.VersionID != "" {
			return SecretRef{}, fmt.Errorf("valueFrom %q names both a version stage and a version id; ECS accepts one", valueFrom)
		}
		return ref, nil
	}
	return SecretRef{}, fmt.Errorf("valueFrom %q is an ARN of service %q, neither an SSM parameter nor a Secrets Manager secret", valueFrom, parts[2])
}
