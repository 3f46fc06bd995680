package ffmpeg

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
