//go:build !linux

package dynamolocal

import "os/exec"

// dieWithParent has no portable equivalent outside Linux; Close stops the JVM.
func dieWithParent(*exec.Cmd) {}
