package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the chunkcode built once for every end-to-end test.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chunkcode-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "chunkcode")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build chunkcode:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary did.
type result struct {
	code           int
	stdout, stderr string
}

// stderrLines returns the non-empty lines chunkcode wrote on stderr.
func (r result) stderrLines() []string {
	var out []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// runTimeout bounds every run of the binary.
const runTimeout = 3 * time.Minute

// chunkcode runs the binary with args and env added to the test's
// environment, and waits for it.
func chunkcode(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return chunkcodeIn(t, "", env, args...)
}

// chunkcodeIn is chunkcode run in the directory dir ("" for the test's).
func chunkcodeIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return runBinary(t, dir, append(os.Environ(), env...), args...)
}

// chunkcodeEnv is chunkcode run with env as its whole environment.
func chunkcodeEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runBinary(t, "", env, args...)
}

// runBinary runs the binary with args in dir and the environment env.
func runBinary(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run chunkcode %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("chunkcode %s did not finish within %v", strings.Join(args, " "), runTimeout)
	}
	return r
}

// running is a chunkcode started in the background whose stderr is read
// line by line.
type running struct {
	cmd    *exec.Cmd
	lines  chan string
	stdout bytes.Buffer
	stderr bytes.Buffer // every line, once the process has exited
	done   chan struct{}
}

// start starts the binary with args; the test kills it if it still runs at
// the end.
func start(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	return startEnv(t, append(os.Environ(), env...), args...)
}

// startEnv is start with env as the whole environment.
func startEnv(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(binary, args...), lines: make(chan string, 100), done: make(chan struct{})}
	r.cmd.Env = env
	r.cmd.Stdout = &r.stdout
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		defer close(r.lines)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			r.stderr.WriteString(sc.Text() + "\n")
			select {
			case r.lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, pipe)
	}()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	})
	return r
}

// waitFor reads stderr lines until n of them start with prefix, and fails
// the test if the process ends or a minute passes first.
func (r *running) waitFor(t *testing.T, prefix string, n int) {
	t.Helper()
	timeout := time.After(time.Minute)
	for seen := 0; seen < n; {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("chunkcode ended before %d lines starting %q", n, prefix)
			}
			if strings.HasPrefix(l, prefix) {
				seen++
			}
		case <-timeout:
			t.Fatalf("no %d lines starting %q within a minute", n, prefix)
		}
	}
}

// wait waits for the process to exit and returns its exit code, -1 when a
// signal ended it.
func (r *running) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- r.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(within):
		r.cmd.Process.Kill()
		t.Fatalf("chunkcode still running %v after it was told to stop", within)
	}
	<-r.done
	ws := r.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return -1
	}
	return ws.ExitStatus()
}

// processesMentioning returns the processes, other than this test's own,
// whose command line contains s or, when ppid is positive, whose parent is
// ppid.
func processesMentioning(t *testing.T, s string, ppid int) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc to look for processes in: %v", err)
	}
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // it has exited
		}
		line := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(line, s) || (ppid > 0 && parentOf(pid) == ppid) {
			out = append(out, fmt.Sprintf("%d: %s", pid, line))
		}
	}
	return out
}

// children returns the running processes whose parent is pid.
func children(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc to look for processes in: %v", err)
	}
	var out []int
	for _, e := range entries {
		if child, err := strconv.Atoi(e.Name()); err == nil && parentOf(child) == pid {
			out = append(out, child)
		}
	}
	return out
}

// alive reports whether pid is a process that has not exited.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// parentOf returns pid's parent from /proc/PID/stat, or 0.
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 || f[0] == "Z" {
		return 0 // a zombie runs nothing
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}
