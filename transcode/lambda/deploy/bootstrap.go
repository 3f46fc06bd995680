package deploy

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/chunkcode/chunkcode/transcode/lambda"
)

const (
	// modulePath is the module the bootstrap is built from.
	modulePath = "github.com/chunkcode/chunkcode"
	// FaultsTag is the build tag that compiles the handler's test faults in
	// (lambdatest.FaultsTag); a binary built with it is never packaged.
	FaultsTag = "chunkcode_faults"
)

// ErrNoGo means the go command, which building a bootstrap needs, is
// neither in the GOROOT chunkcode was built with nor on PATH.
var ErrNoGo = errors.New("go is not installed (not on PATH)")

// CheckBinary returns nil when the chunkcode binary at path can be the
// function for arch as it is, and otherwise an error saying why not. It can
// when it is what BuildBootstrap builds, up to what changes nothing on the
// function: a Go binary for linux/arch.GoArch(), statically linked (an ELF
// with no program interpreter, as CGO_ENABLED=0 builds are, so it needs
// nothing from provided.al2023's libc), and not built with FaultsTag.
// BuildTags, -trimpath and -ldflags "-s -w" only make it smaller or
// reproducible: a binary without them serves the same.
func CheckBinary(path string, arch lambda.Arch) error {
	unfit := func(format string, args ...any) error {
		return fmt.Errorf("%s cannot be the %s function (it %s)", path, arch, fmt.Sprintf(format, args...))
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return unfit("is not a Go program: %v", err)
	}
	goos, goarch := setting(bi, "GOOS"), setting(bi, "GOARCH")
	if goos != "linux" || goarch != arch.GoArch() {
		return unfit("is a %s/%s build", goos, goarch)
	}
	if tags := strings.FieldsFunc(setting(bi, "-tags"), func(r rune) bool { return r == ',' || r == ' ' }); slices.Contains(tags, FaultsTag) {
		return unfit("is built with the test faults, -tags %s", FaultsTag)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return unfit("is dynamically linked: a cgo build, where CGO_ENABLED=0 builds are static")
		}
	}
	return nil
}

// setting returns the value of the build setting key, or "".
func setting(bi *debug.BuildInfo, key string) string {
	for _, s := range bi.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// ModuleVersion returns the version of the chunkcode module a binary with
// build information bi was built from, for BuildModule: the version `go
// install …@VERSION` records. It returns "" when there is none to download:
// a build in a source tree ("(devel)", or a version from its VCS with
// uncommitted changes, "+dirty"), or a binary of another main module.
func ModuleVersion(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if bi.Main.Path != modulePath || v == "" || v == "(devel)" || strings.HasSuffix(v, "+dirty") {
		return ""
	}
	return v
}

// IsSource reports whether dir is the root of the chunkcode source tree,
// which BuildBootstrap builds from.
func IsSource(dir string) bool {
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && bytes.Contains(mod, []byte("module "+modulePath+"\n"))
}

// BuildBootstrap builds the chunkcode command from the module in source as
// a Linux binary for arch, with BuildTags, into dir/bootstrap.
func BuildBootstrap(ctx context.Context, source string, arch lambda.Arch, dir string) (string, error) {
	if !IsSource(source) {
		return "", fmt.Errorf("build bootstrap: %s is not the chunkcode source tree (give --source, or --bootstrap with a built binary)", source)
	}
	return build(ctx, source, arch, dir, "")
}

// BuildModule builds the chunkcode command as BuildBootstrap does, from the
// module at version as the go command downloads it (through GOPROXY into
// the module cache, checked against the checksum database), with that
// version's own go.mod and go.sum. It fails when the proxy has no such
// version, as for a module never published.
func BuildModule(ctx context.Context, version string, arch lambda.Arch, dir string) (string, error) {
	goTool, err := GoTool()
	if err != nil {
		return "", err
	}
	// Outside any module (dir is empty), go mod download takes module@version.
	cmd := exec.CommandContext(ctx, goTool, "mod", "download", "-json", modulePath+"@"+version)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Error != "" || runErr != nil {
		msg := mod.Error
		if msg == "" {
			msg = fmt.Sprint(runErr, ": ", stderr.String())
		}
		return "", fmt.Errorf("download %s@%s: %s", modulePath, version, strings.Join(strings.Fields(msg), " "))
	}
	// Built as the main module, it would say it is "(devel)": give it the
	// version by the variable that chunkcode version prints when set.
	return build(ctx, mod.Dir, arch, dir, "-X main.version="+version, "GOWORK=off")
}

// GoTool returns the go command to build with: the one of the GOROOT
// chunkcode was built with, if it is still there, else the one on PATH.
func GoTool() (string, error) {
	if root := runtime.GOROOT(); root != "" {
		if p := filepath.Join(root, "bin", "go"); isFile(p) {
			return p, nil
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		return "", ErrNoGo
	}
	return p, nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// build builds ./cmd/chunkcode in the module at source into dir/bootstrap,
// with ldflags added to the linker's flags and env to the go command's
// environment.
func build(ctx context.Context, source string, arch lambda.Arch, dir, ldflags string, env ...string) (string, error) {
	goTool, err := GoTool()
	if err != nil {
		return "", fmt.Errorf("build bootstrap: %w", err)
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, goTool, "build", "-tags", BuildTags, "-trimpath", "-ldflags", strings.TrimSpace("-s -w "+ldflags),
		"-o", out, "./cmd/chunkcode")
	cmd.Dir = source
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch.GoArch(), "CGO_ENABLED=0")
	cmd.Env = append(cmd.Env, env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build bootstrap: %w: %s", err, bytes.TrimSpace(b))
	}
	return out, nil
}
