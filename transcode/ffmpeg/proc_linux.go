package ffmpeg

import "syscall"

// sysProcAttr puts each child in its own process group, so a terminal's
// Ctrl-C reaches only chunkcode, which then interrupts its children itself,
// and has the kernel kill the child if chunkcode dies without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
