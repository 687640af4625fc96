// Package deploy holds owl's own deployment: its services written as ECS
// task definitions under ecs/ and the mapping that 'owl migrate convert'
// turns into the Kustomize cells and Argo CD objects beside them. The ECS
// side is embedded so that 'owl up' can show the migration of its own fleet.
package deploy

import "embed"

// ECS holds ecs/*.json and mapping.yaml.
//
//go:embed ecs/*.json mapping.yaml
var ECS embed.FS
