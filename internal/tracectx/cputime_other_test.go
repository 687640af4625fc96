//go:build !unix

package tracectx

import "time"

// processCPU is 0 where getrusage does not exist: CPU metrics read 0.
func processCPU() time.Duration { return 0 }
