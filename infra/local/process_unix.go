//go:build unix

package local

import (
	"os"
	"syscall"
)

// killProcessTree kills a function's process and whatever it started: each
// runs in a process group of its own (childProcessAttributes), which also
// keeps a terminal's Ctrl-C away from it so the runner stops it in order.
func killProcessTree(p *os.Process) {
	if p == nil {
		return
	}
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		_ = p.Kill()
	}
}
