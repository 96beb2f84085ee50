//go:build !linux

package testenv

import "syscall"

// childProcAttr is nil where the kernel cannot tie a child's life to the test process's.
func childProcAttr() *syscall.SysProcAttr { return nil }
