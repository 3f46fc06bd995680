//go:build !linux

package browsertest

import "syscall"

// sysProcAttr puts node in its own process group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
