// Package deploy packages chunkcode as a Lambda function and deploys it:
// the bootstrap built for Linux, the zip of it with an optional ffmpeg, and
// the function created or updated with the AWS SDK.
package deploy

import (
	"archive/zip"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chunkcode/chunkcode/transcode/lambda"
)

// Deployment defaults, the largest Lambda allows: memory buys vCPUs.
const (
	DefaultMemoryMB    = 10240
	DefaultTimeout     = 900 * time.Second
	DefaultEphemeralMB = 10240
	// BuildTags are the tags the function binary is built with: no RPC
	// mode, which provided.al2023 does not use.
	BuildTags = "lambda.norpc"
	// maxDirectZip is the largest zip CreateFunction takes inline.
	maxDirectZip = 50 << 20
)

// ZipFile is one file of a deployment package.
type ZipFile struct {
	Name string // path in the zip, such as "bootstrap" or "bin/ffmpeg"
	Path string // local file
}

// PackageFiles lists the files of a deployment package: the bootstrap and,
// when ffmpeg is set, that program as bin/ffmpeg with the ffprobe beside it
// as bin/ffprobe if there is one. The handler finds them through
// $LAMBDA_TASK_ROOT/bin when no layer provides /opt/bin.
func PackageFiles(bootstrap, ffmpeg string) []ZipFile {
	files := []ZipFile{{Name: "bootstrap", Path: bootstrap}}
	if ffmpeg != "" {
		files = append(files, ZipFile{Name: "bin/ffmpeg", Path: ffmpeg})
		probe := filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
		if _, err := os.Stat(probe); err == nil {
			files = append(files, ZipFile{Name: "bin/ffprobe", Path: probe})
		}
	}
	return files
}

// WriteZip writes files as a zip with every file executable, as Lambda needs
// for bootstrap and bundled programs. Files are streamed from disk.
func WriteZip(w io.Writer, files []ZipFile) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := addFile(zw, f); err != nil {
			return fmt.Errorf("add %s to zip: %w", f.Name, err)
		}
	}
	return zw.Close()
}

func addFile(zw *zip.Writer, f ZipFile) error {
	in, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", f.Path)
	}
	h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: fi.ModTime()}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, in)
	return err
}

// ZipArch returns the architecture of the bootstrap in the deployment
// package at path, read from its ELF header.
func ZipArch(path string) (lambda.Arch, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", fmt.Errorf("read package: %w", err)
	}
	defer zr.Close()
	f, err := zr.Open("bootstrap")
	if err != nil {
		return "", fmt.Errorf("read package %s: %w", path, err)
	}
	defer f.Close()
	var h [20]byte // e_ident, e_type, e_machine
	if _, err := io.ReadFull(f, h[:]); err != nil || string(h[:4]) != elf.ELFMAG || elf.Data(h[elf.EI_DATA]) != elf.ELFDATA2LSB {
		return "", fmt.Errorf("read package %s: its bootstrap is not a Linux executable", path)
	}
	switch elf.Machine(binary.LittleEndian.Uint16(h[18:])) {
	case elf.EM_X86_64:
		return lambda.X86_64, nil
	case elf.EM_AARCH64:
		return lambda.ARM64, nil
	}
	return "", fmt.Errorf("read package %s: its bootstrap is for %v, which Lambda does not run", path, elf.Machine(binary.LittleEndian.Uint16(h[18:])))
}

// Options configure Function.
type Options struct {
	Function string
	// Zip is the deployment package, from WriteZip.
	Zip string
	// Role is the execution role ARN; needed to create the function.
	Role        string
	MemoryMB    int32
	Timeout     time.Duration
	EphemeralMB int32
	Layers      []string
	Arch        lambda.Arch // "" is lambda.ARM64
	// CodeBucket, when set, is where a package too large to send inline
	// (over 50 MB) is uploaded first, under CodeKey.
	CodeBucket string
	CodeKey    string
	// WaitTimeout bounds each wait for the function to become ready.
	WaitTimeout time.Duration
	// OTelEndpoint, when not nil, sets the function's
	// OTEL_EXPORTER_OTLP_ENDPOINT, to which it exports its spans, or with
	// "" removes it; its other environment variables stay as they are.
	// nil leaves the environment alone.
	OTelEndpoint *string
}

// EnvOTelEndpoint is the variable Options.OTelEndpoint sets.
const EnvOTelEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT"

// environment is the function's environment current with the change
// o asks for, or nil for no change.
func (o Options) environment(current map[string]string) *lambdatypes.Environment {
	if o.OTelEndpoint == nil {
		return nil
	}
	vars := make(map[string]string, len(current)+1)
	for k, v := range current {
		vars[k] = v
	}
	if *o.OTelEndpoint == "" {
		delete(vars, EnvOTelEndpoint)
	} else {
		vars[EnvOTelEndpoint] = *o.OTelEndpoint
	}
	return &lambdatypes.Environment{Variables: vars}
}

// Function creates the function, or updates its code and configuration,
// and waits until it is ready to invoke. It returns the function ARN.
func Function(ctx context.Context, cfg aws.Config, o Options) (arn string, created bool, err error) {
	if o.Arch == "" {
		o.Arch = lambda.ARM64
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = DefaultMemoryMB
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.EphemeralMB == 0 {
		o.EphemeralMB = DefaultEphemeralMB
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = 10 * time.Minute
	}
	code, err := deployCode(ctx, cfg, o)
	if err != nil {
		return "", false, err
	}
	client := lambdasvc.NewFromConfig(cfg)
	arch := []lambdatypes.Architecture{lambdatypes.Architecture(o.Arch)}
	timeout := aws.Int32(int32(o.Timeout / time.Second))
	storage := &lambdatypes.EphemeralStorage{Size: aws.Int32(o.EphemeralMB)}

	current, err := client.GetFunction(ctx, &lambdasvc.GetFunctionInput{FunctionName: &o.Function})
	var nf *lambdatypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		if o.Role == "" {
			return "", false, fmt.Errorf("create function %s: no execution role (--role)", o.Function)
		}
		out, err := client.CreateFunction(ctx, &lambdasvc.CreateFunctionInput{
			FunctionName: &o.Function, Role: &o.Role, Code: code,
			Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Architectures: arch, MemorySize: &o.MemoryMB, Timeout: timeout,
			EphemeralStorage: storage, Layers: o.Layers, Environment: o.environment(nil),
			Description: aws.String("chunkcode segment encoder"),
		})
		if err != nil {
			return "", false, fmt.Errorf("create function %s: %w", o.Function, err)
		}
		if err := lambdasvc.NewFunctionActiveV2Waiter(client).Wait(ctx,
			&lambdasvc.GetFunctionInput{FunctionName: &o.Function}, o.WaitTimeout); err != nil {
			return "", true, fmt.Errorf("wait for function %s to become active: %w", o.Function, err)
		}
		return aws.ToString(out.FunctionArn), true, nil
	case err != nil:
		return "", false, fmt.Errorf("get function %s: %w", o.Function, err)
	}

	wait := func(what string) error {
		err := lambdasvc.NewFunctionUpdatedV2Waiter(client).Wait(ctx,
			&lambdasvc.GetFunctionInput{FunctionName: &o.Function}, o.WaitTimeout)
		if err != nil {
			return fmt.Errorf("wait for function %s to %s: %w", o.Function, what, err)
		}
		return nil
	}
	if err := wait("be ready for an update"); err != nil {
		return "", false, err
	}
	up := &lambdasvc.UpdateFunctionCodeInput{FunctionName: &o.Function, Architectures: arch,
		ZipFile: code.ZipFile, S3Bucket: code.S3Bucket, S3Key: code.S3Key}
	if _, err := client.UpdateFunctionCode(ctx, up); err != nil {
		return "", false, fmt.Errorf("update code of function %s: %w", o.Function, err)
	}
	if err := wait("update its code"); err != nil {
		return "", false, err
	}
	cfgIn := &lambdasvc.UpdateFunctionConfigurationInput{
		FunctionName: &o.Function, Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		MemorySize: &o.MemoryMB, Timeout: timeout, EphemeralStorage: storage, Layers: o.Layers,
	}
	var vars map[string]string
	if c := current.Configuration; c != nil && c.Environment != nil {
		vars = c.Environment.Variables
	}
	cfgIn.Environment = o.environment(vars)
	if o.Role != "" {
		cfgIn.Role = &o.Role
	}
	out, err := client.UpdateFunctionConfiguration(ctx, cfgIn)
	if err != nil {
		return "", false, fmt.Errorf("update configuration of function %s: %w", o.Function, err)
	}
	if err := wait("update its configuration"); err != nil {
		return "", false, err
	}
	return aws.ToString(out.FunctionArn), false, nil
}

// deployCode sends a small package inline and uploads a large one to
// CodeBucket first.
func deployCode(ctx context.Context, cfg aws.Config, o Options) (*lambdatypes.FunctionCode, error) {
	fi, err := os.Stat(o.Zip)
	if err != nil {
		return nil, fmt.Errorf("read package: %w", err)
	}
	if fi.Size() <= maxDirectZip {
		b, err := os.ReadFile(o.Zip)
		if err != nil {
			return nil, fmt.Errorf("read package: %w", err)
		}
		return &lambdatypes.FunctionCode{ZipFile: b}, nil
	}
	if o.CodeBucket == "" {
		return nil, fmt.Errorf("package %s is %d MB, over the 50 MB Lambda takes inline: give --bucket to upload it to S3, or ship ffmpeg as a layer", o.Zip, fi.Size()>>20)
	}
	key := o.CodeKey
	if key == "" {
		key = lambda.DefaultPrefix + "deploy/" + o.Function + ".zip"
	}
	if err := upload(ctx, s3.NewFromConfig(cfg), o.Zip, o.CodeBucket, key); err != nil {
		return nil, fmt.Errorf("upload package to s3://%s/%s: %w", o.CodeBucket, key, err)
	}
	return &lambdatypes.FunctionCode{S3Bucket: &o.CodeBucket, S3Key: &key}, nil
}

// upload PUTs the file at path to bucket/key in one request, streamed from
// disk: a package is at most 250 MB unzipped.
func upload(ctx context.Context, client *s3.Client, path, bucket, key string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// The SDK takes the length of a file by seeking it.
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: f})
	return err
}
