//go:build unix

package tracectx

import (
	"syscall"
	"time"
)

// processCPU is the user and system CPU time the test process has used; 0
// when the platform cannot tell.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
