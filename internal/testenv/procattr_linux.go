package testenv

import "syscall"

// childProcAttr makes the kernel kill a private server when the test process dies (a test
// binary killed at its timeout, say), so none is left running.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
