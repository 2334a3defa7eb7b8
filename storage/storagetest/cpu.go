package storagetest

import (
	"syscall"
	"time"
)

// ProcessCPU is the user+system CPU time of this process so far.
// Benchmarks on the shared machine report it next to wall time, which
// includes waiting for a core.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
