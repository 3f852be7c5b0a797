//go:build unix && !linux

package local

import "syscall"

// childProcessAttributes puts a function's process in a group of its own.
func childProcessAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
