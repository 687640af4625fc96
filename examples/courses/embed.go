// Package courses embeds owl's own demo course, so that 'owl up' can publish
// it on first start wherever the binary runs.
package courses

import "embed"

// Demo is the owl-demo course folder (LibreLingo format) at its root "owl-demo".
//
//go:embed owl-demo
var Demo embed.FS

// DemoID is the course id the demo course is published under.
const DemoID = "owl-demo"
