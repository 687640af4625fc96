//go:build !unix

package sms

import "time"

// ProcessCPU is the CPU time this process has used; not measured on this
// platform.
func ProcessCPU() time.Duration { return 0 }
