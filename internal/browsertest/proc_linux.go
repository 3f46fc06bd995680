package browsertest

import "syscall"

// sysProcAttr puts node in its own process group and kills it if the test
// process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
