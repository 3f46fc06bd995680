// Package lambdatest runs the Lambda backend's real counterparts on loopback
// for tests, like net/http/httptest: an S3 server (versitygw with a posix
// backend in a temporary directory) and Lambda emulators (aws-lambda-rie),
// each serving one invocation at a time of a given chunkcode binary as the
// function, and a stand-in for the regional Lambda endpoint in front of a
// pool of emulators (Functions.Regional). Everything listens on 127.0.0.1
// and is stopped in t.Cleanup, which also fails the test if any process it
// started, or any child of one, is still running.
//
// The tools come from `make tools` (go install of pinned versions). When one
// is missing the test fails in CI (the CI environment variable is set) and is
// skipped elsewhere.
//
// Functions run with CHUNKCODE_ALLOW_HTTP=1, since the S3 server speaks plain
// http, CHUNKCODE_S3_ENDPOINT=127.0.0.1, since it is no AWS endpoint, and
// with whatever FunctionOptions.Env adds, such as CHUNKCODE_TEST_FAULT to
// inject failures, which the binary Chunkcode builds honours.
package lambdatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Credentials and region of the S3 server.
const (
	AccessKey = "chunkcode-test"
	SecretKey = "chunkcode-test-secret"
	Region    = "us-east-1"
	Bucket    = "chunkcode-test"
)

// startTimeout bounds how long a tool may take to start listening.
const startTimeout = 15 * time.Second

// Tool returns the path of a pinned test tool (aws-lambda-rie, versitygw):
// on PATH or in $(go env GOPATH)/bin. When it is missing, the test fails in
// CI and is skipped elsewhere.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command(goTool(), "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("%s is not installed; run `make tools` to install the pinned version", name)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("skipped outside CI: " + msg)
	return ""
}

func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// FaultsTag is the build tag that compiles the handler's test faults in
// (see lambda.EnvTestFault).
const FaultsTag = "chunkcode_faults"

// Chunkcode builds the chunkcode binary once per test process, with
// FaultsTag, and returns its path. It is removed when the process exits only if the caller's
// TestMain calls Cleanup; otherwise it stays in the system temp directory.
func Chunkcode(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "chunkcode-lambdatest-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "chunkcode")
		cmd := exec.Command(goTool(), "build", "-tags", FaultsTag, "-o", build.path, "github.com/chunkcode/chunkcode/cmd/chunkcode")
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("build chunkcode: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// Cleanup removes what Chunkcode built. Call it at the end of TestMain.
func Cleanup() {
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

// S3 is a running S3 server with one empty bucket.
type S3 struct {
	Endpoint string // http://127.0.0.1:PORT
	Bucket   string
	Dir      string // the posix backend's root
	proc     *proc
}

// StartS3 starts versitygw on a free loopback port with a posix backend in
// a temporary directory, and creates Bucket.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	bin := Tool(t, "versitygw")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	for _, d := range []string{root, filepath.Join(dir, "meta")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	p := start(t, "versitygw", filepath.Join(dir, "versitygw.log"), nil,
		bin, "--port", addr, "--access", AccessKey, "--secret", SecretKey, "--region", Region, "--quiet",
		"posix", "--sidecar", filepath.Join(dir, "meta"), root)
	s := &S3{Endpoint: "http://" + addr, Bucket: Bucket, Dir: root, proc: p}
	p.waitListening(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		_, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(Bucket)})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create bucket %s on %s: %v\n%s", Bucket, s.Endpoint, err, p.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// Config is an AWS configuration with the server's credentials and region.
func (s *S3) Config() aws.Config { return Config() }

// Config is an AWS configuration with the test credentials and region,
// which the emulators accept without checking.
func Config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	}
}

// Client is an S3 client for the server.
func (s *S3) Client() *s3.Client {
	return s3.NewFromConfig(s.Config(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
}

// Keys lists every object in the bucket.
func (s *S3) Keys(t testing.TB) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.Client(), &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list bucket %s: %v", s.Bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// Files returns every object of the bucket, by key, read from the posix
// backend's directory rather than through S3, so that a test can see what
// the bucket holds after Stop. Directories of versitygw's own (".sgwtmp",
// where multipart uploads are assembled) are left out.
func (s *S3) Files(t testing.TB) map[string][]byte {
	t.Helper()
	dir := filepath.Join(s.Dir, s.Bucket)
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".sgwtmp") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatalf("read bucket %s from %s: %v", s.Bucket, dir, err)
	}
	return files
}

// Env is the environment that points the AWS SDK and chunkcode at the
// server: credentials, region and AWS_ENDPOINT_URL_S3.
func (s *S3) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=" + Region, "AWS_ENDPOINT_URL_S3=" + s.Endpoint,
	}
}

// Stop stops the server before the test ends, to test what happens when S3
// is down. It is safe to call more than once.
func (s *S3) Stop(t testing.TB) { t.Helper(); s.proc.stop(t) }

// FunctionOptions configure StartFunctions.
type FunctionOptions struct {
	// N is the number of emulators; default 1.
	N int
	// Binary is the function: a chunkcode binary; default Chunkcode(t).
	Binary string
	// Timeout is the function timeout, in whole seconds; default 120s.
	Timeout time.Duration
	// Env is added to the functions' environment, such as
	// "CHUNKCODE_TEST_FAULT=error-once".
	Env []string
}

// Functions are running emulators.
type Functions struct {
	// Endpoints are the emulators' URLs, one invocation at a time each.
	Endpoints []string
	// TempDirs are the functions' TMPDIR, one per emulator: their /tmp.
	TempDirs []string
	procs    []*proc
}

// StartFunctions starts opts.N emulators, each with its own emulator and
// runtime API addresses on 127.0.0.1, running the chunkcode binary as the
// function.
func StartFunctions(t testing.TB, opts FunctionOptions) *Functions {
	t.Helper()
	rie := Tool(t, "aws-lambda-rie")
	if opts.N <= 0 {
		opts.N = 1
	}
	if opts.Binary == "" {
		opts.Binary = Chunkcode(t)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 120 * time.Second
	}
	fs := &Functions{}
	for i := range opts.N {
		dir := t.TempDir()
		api, emu := freeAddr(t), freeAddr(t)
		env := append([]string{
			"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(opts.Timeout.Seconds())),
			"CHUNKCODE_ALLOW_HTTP=1",
			"CHUNKCODE_S3_ENDPOINT=127.0.0.1",
			"TMPDIR=" + dir,
			"LOG_LEVEL=warn",
		}, opts.Env...)
		p := start(t, fmt.Sprintf("aws-lambda-rie %d", i), filepath.Join(dir, "rie.log"), env,
			rie, "--runtime-interface-emulator-address", emu, "--runtime-api-address", api, opts.Binary)
		p.waitListening(t, emu)
		fs.procs = append(fs.procs, p)
		fs.Endpoints = append(fs.Endpoints, "http://"+emu)
		fs.TempDirs = append(fs.TempDirs, dir)
	}
	return fs
}

// Invocations returns how many invocations each emulator has started, from
// the START lines of its log.
func (f *Functions) Invocations() []int {
	n := make([]int, len(f.procs))
	for i, p := range f.procs {
		n[i] = strings.Count(p.log(), "START RequestId:")
	}
	return n
}

// Logs returns every emulator's log, for failure messages.
func (f *Functions) Logs() string {
	var b strings.Builder
	for i, p := range f.procs {
		fmt.Fprintf(&b, "--- emulator %d (%s)\n%s\n", i, f.Endpoints[i], p.log())
	}
	return b.String()
}

// proc is a started tool, in its own process group, whose whole group is
// stopped in t.Cleanup.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	marker  string // in the environment of the tool and its children
	done    chan struct{}
	once    sync.Once
}

func start(t testing.TB, name, logPath string, env []string, args ...string) *proc {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	var r [8]byte
	rand.Read(r[:])
	p := &proc{name: name, logPath: logPath, marker: "CHUNKCODE_LAMBDATEST_PROC=" + hex.EncodeToString(r[:]), done: make(chan struct{})}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(append(os.Environ(), env...), p.marker)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p.cmd = cmd
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop sends the process group SIGTERM, then SIGKILL after a grace period,
// and fails the test if any process carrying the marker survives.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
		// Children in their own process groups (ffmpeg) die with their
		// parent; give the kernel a moment, then look for survivors.
		deadline := time.Now().Add(3 * time.Second)
		for {
			left := processesWith(p.marker)
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				for _, pid := range left {
					syscall.Kill(pid, syscall.SIGKILL)
				}
				t.Errorf("%s: processes still running after stop: %v", p.name, left)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// waitListening waits until addr accepts connections.
func (p *proc) waitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before listening on %s:\n%s", p.name, addr, p.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not listening on %s after %v:\n%s", p.name, addr, startTimeout, p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// processesWith returns the IDs of running processes whose environment
// holds entry. It reads /proc, so it finds nothing on other systems.
func processesWith(entry string) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, e := range bytes.Split(env, []byte{0}) {
			if string(e) == entry {
				if !zombie(pid) {
					pids = append(pids, pid)
				}
				break
			}
		}
	}
	return pids
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}
