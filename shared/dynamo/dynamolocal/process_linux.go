package dynamolocal

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the JVM exit when the process that started it dies,
// so a killed test run leaves no DynamoDB Local behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
