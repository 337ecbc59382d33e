package testkit

import (
	"os/exec"
	"syscall"
)

// dieWithTest has the kernel SIGKILL the process when the test binary
// dies, so a test that panics (a -timeout) leaves no server or service
// running behind it.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
