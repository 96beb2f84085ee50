package testenv

import (
	"syscall"
	"testing"
	"time"
)

// CPUTime is the CPU time the process has used, every thread (GC included): benchmarks report
// it per iteration as cpu-ns/op, which varies far less than ns/op when other work shares the
// machine.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ReportCPU reports the CPU time since start (a CPUTime) per iteration of a finished b.Loop.
func ReportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(CPUTime()-start)/float64(b.N), "cpu-ns/op")
}
