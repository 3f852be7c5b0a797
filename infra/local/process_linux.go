//go:build linux

package local

import "syscall"

// childProcessAttributes puts a function's process in a group of its own and
// has the kernel kill it if the runner dies without cleaning up.
func childProcessAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
