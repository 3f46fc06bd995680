package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests cover what chunkcode promises about the user's files: it
// never deletes or damages one it did not make, and what it writes reaches
// the disk whole.

// oneErrorLine asserts that r failed with exit code code and one line on
// stderr, with no stack trace, that contains every one of want.
func oneErrorLine(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	assert.Equal(t, code, r.code, "exit code; stderr: %s", r.stderr)
	lines := r.stderrLines()
	if assert.Len(t, lines, 1, "one line on stderr: %q", r.stderr) {
		assert.True(t, strings.HasPrefix(lines[0], "chunkcode: "), "%q", lines[0])
		for _, w := range want {
			assert.Contains(t, lines[0], w)
		}
	}
	assert.NotContains(t, r.stderr, "goroutine", "no stack trace")
}

func TestWorkDirKeepsUserFiles(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	data, err := os.ReadFile(in)
	require.NoError(t, err)

	t.Run("a directory of the user's files is refused", func(t *testing.T) {
		t.Parallel()
		// The report's repro: the input and an earlier output carry
		// names an old version cleared by pattern.
		dir := t.TempDir()
		fixture.WriteFile(t, filepath.Join(dir, "audio.mp4"), string(data))
		fixture.WriteFile(t, filepath.Join(dir, "seg-final.mp4"), "the user's earlier output")
		r := chunkcodeIn(t, dir, nil, append(append([]string{"transcode"}, fast...), "--work-dir", ".", "audio.mp4", "out.mp4")...)
		oneErrorLine(t, r, 1, dir, "not a chunkcode work directory")
		assert.NotContains(t, r.stderr, ".chunkcode-", "it names one of the user's files, not chunkcode's own")
		got, err := os.ReadFile(filepath.Join(dir, "audio.mp4"))
		require.NoError(t, err, "the input is still there")
		assert.Equal(t, data, got, "the input is unchanged")
		assert.FileExists(t, filepath.Join(dir, "seg-final.mp4"))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 2, "nothing left in the directory")
	})

	t.Run("a work directory whose first manifest was cut short is chunkcode's", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		work := filepath.Join(dir, "work")
		require.NoError(t, os.Mkdir(work, 0o755))
		fixture.WriteFile(t, filepath.Join(work, "chunkcode-work.json.tmp"), `{"tool":"chun`)
		r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), "--work-dir", work, in, filepath.Join(dir, "out.mp4"))...)
		require.Equal(t, 0, r.code, r.stderr)
	})

	t.Run("a work directory loses only the files chunkcode listed", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		work, out := filepath.Join(dir, "work"), filepath.Join(dir, "out.mp4")
		args := append(append([]string{"transcode"}, fast...), "--work-dir", work)
		r := chunkcode(t, nil, append(args, in, out)...)
		require.Equal(t, 0, r.code, r.stderr)
		segs, _ := filepath.Glob(filepath.Join(work, "seg-*.mp4"))
		require.NotEmpty(t, segs)
		// Files the user put there afterwards, named like chunkcode's.
		mine := []string{"seg-notes.mp4", "audio.mp4", "concat.txt.bak"}
		for _, n := range mine {
			fixture.WriteFile(t, filepath.Join(work, n), "the user's "+n)
		}
		// Other settings: the earlier segments are stale and cleared.
		r = chunkcode(t, nil, append(args, "--crf", "30", "--segment-duration", "1", in, out)...)
		require.Equal(t, 0, r.code, r.stderr)
		for _, n := range mine {
			assert.FileExists(t, filepath.Join(work, n), "a file chunkcode did not make")
		}
		for _, s := range segs {
			if filepath.Base(s) >= "seg-00002.mp4" { // the new plan has two
				assert.NoFileExists(t, s, "a stale segment of the earlier plan")
			}
		}
	})
}

func TestWorkDirLock(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	a := fixture.Video(t, fixture.Spec{Duration: 4 * time.Second, Width: 320, Height: 240})
	b := fixture.Video(t, fixture.Spec{Duration: 4 * time.Second, Width: 320, Height: 240, Rate: 30})
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	args := []string{"transcode", "--no-progress", "--workers", "1", "--segment-duration", "1", "--work-dir", work}

	first := start(t, nil, append(args, a, filepath.Join(dir, "a.mp4"))...)
	first.waitFor(t, "segment ", 1) // it holds the work directory now
	second := chunkcode(t, nil, append(args, b, filepath.Join(dir, "b.mp4"))...)
	oneErrorLine(t, second, 1, work, "in use by another chunkcode run")
	assert.NoFileExists(t, filepath.Join(dir, "b.mp4"))

	require.Equal(t, 0, first.wait(t, 2*time.Minute), first.stderr.String())
	const w, h = 160, 120
	fixture.SamePictures(t, fixture.Luma(t, a, w, h), fixture.Luma(t, filepath.Join(dir, "a.mp4"), w, h))
}

// rawVideo writes a 2 s uncompressed video of the lavfi source src, so two
// sources give files of the same size and packet layout.
func rawVideo(t *testing.T, path, src string) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", src+"=size=160x120:rate=25:duration=2",
		"-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-fflags", "+bitexact", "-flags", "+bitexact", path)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

func TestResumeNoticesReplacedInput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	in, other := filepath.Join(dir, "in.avi"), filepath.Join(dir, "other.avi")
	rawVideo(t, in, "testsrc")
	rawVideo(t, other, "smptebars")
	fi, err := os.Stat(in)
	require.NoError(t, err)
	fo, err := os.Stat(other)
	require.NoError(t, err)
	require.Equal(t, fi.Size(), fo.Size(), "the two inputs must have the same size")

	work, out := filepath.Join(dir, "work"), filepath.Join(dir, "out.mp4")
	args := append(append([]string{"transcode"}, fast...), "--work-dir", work)
	r := chunkcode(t, nil, append(args, in, out)...)
	require.Equal(t, 0, r.code, r.stderr)

	// As cp -p or rsync -t would: other content, the same size and time.
	data, err := os.ReadFile(other)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(in, data, 0o644))
	require.NoError(t, os.Chtimes(in, fi.ModTime(), fi.ModTime()))

	r = chunkcode(t, nil, append(args, "--resume", "--json", in, out)...)
	require.Equal(t, 0, r.code, r.stderr)
	sum := decodeOne(t, r.stdout)
	assert.Zero(t, sum["resumed_segments"], "no segment of the old content is reused")
	assert.Contains(t, r.stderr, "the input has changed")
	const w, h = 160, 120
	fixture.SamePictures(t, fixture.Luma(t, other, w, h), fixture.Luma(t, out, w, h))
}

func TestResumeReusesAudio(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	dir := t.TempDir()
	work, out := filepath.Join(dir, "work"), filepath.Join(dir, "out.mp4")
	args := append(append([]string{"transcode"}, fast...), "--work-dir", work)
	r := chunkcode(t, nil, append(args, in, out)...)
	require.Equal(t, 0, r.code, r.stderr)
	audio := filepath.Join(work, "audio.m4a")
	before, err := os.Stat(audio)
	require.NoError(t, err)

	r = chunkcode(t, nil, append(args, "--resume", in, out)...)
	require.Equal(t, 0, r.code, r.stderr)
	after, err := os.Stat(audio)
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after) && before.ModTime().Equal(after.ModTime()), "the audio is not encoded again")
	assert.InDelta(t, fixture.AudioDurations(t, in)[0], fixture.AudioDurations(t, out)[0], 0.05)

	t.Run("changed settings say why everything is encoded again", func(t *testing.T) {
		r := chunkcode(t, nil, append(args, "--resume", "--crf", "30", in, out)...)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Regexp(t, regexp.MustCompile(`(?m)^warning: resume: encoding all \d+ segments again: the settings have changed$`), r.stderr)
	})
}

func TestOutputIsDurable(t *testing.T) {
	fixture.RequireFFmpeg(t)
	strace, err := exec.LookPath("strace")
	if err != nil {
		fixture.Missing(t, "strace")
	}
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	dir := t.TempDir()
	work, out := filepath.Join(dir, "work"), filepath.Join(dir, "out.mp4")
	trace := filepath.Join(dir, "trace")
	cmd := exec.Command(strace, append([]string{"-f", "-qq", "-y", "-o", trace, "-e", "trace=fsync,fdatasync,rename,renameat,renameat2",
		binary, "transcode"}, append(fast, "--work-dir", work, in, out)...)...)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	data, err := os.ReadFile(trace)
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	// index returns the first line after from that matches re, or -1.
	index := func(from int, re string) int {
		r := regexp.MustCompile(re)
		for i := max(from, 0); i < len(lines); i++ {
			if r.MatchString(lines[i]) {
				return i
			}
		}
		return -1
	}
	q := regexp.QuoteMeta
	tmp := q(filepath.Join(dir, ".out.mp4.chunkcode-")) + `[0-9a-f]+`
	synced := index(0, `fsync\(\d+<`+tmp+`>`)
	renamed := index(synced, `rename.*"`+tmp+`".*"`+q(out)+`"`)
	dirSynced := index(renamed, `fsync\(\d+<`+q(dir)+`>`)
	assert.Positive(t, synced, "the temporary output is synced")
	assert.Positive(t, renamed, "then renamed to OUTPUT")
	assert.Positive(t, dirSynced, "then its directory is synced")

	seg := q(filepath.Join(work, "seg-00000"))
	segSynced := index(0, `fsync\(\d+<`+seg+`\.part\.mp4>`)
	assert.Positive(t, segSynced, "a segment --resume trusts is synced")
	assert.Positive(t, index(segSynced, `rename.*"`+seg+`\.part\.mp4".*"`+seg+`\.mp4"`), "before it takes its name")
	if t.Failed() {
		t.Logf("strace:\n%s", data)
	}
}

func TestOutputMode(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{})
	dir := t.TempDir()
	// run transcodes in to out under umask 027.
	run := func(out string) {
		t.Helper()
		args := append(append([]string{binary, "transcode"}, fast...), in, out)
		cmd := exec.Command("sh", append([]string{"-c", `umask 027; exec "$@"`, "sh"}, args...)...)
		msg, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", msg)
	}
	mode := func(path string) os.FileMode {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi.Mode().Perm()
	}

	fresh := filepath.Join(dir, "fresh.mp4")
	run(fresh)
	assert.Equal(t, os.FileMode(0o640), mode(fresh), "a new output honours the umask")

	private := filepath.Join(dir, "private.mp4")
	fixture.WriteFile(t, private, "old")
	require.NoError(t, os.Chmod(private, 0o600))
	run(private)
	assert.Equal(t, os.FileMode(0o600), mode(private), "a replaced output keeps its mode")
	assert.Greater(t, fixture.Frames(t, private), 0)
}

func TestLeftoverTemporaryOutput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{})
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	// What kill -9 during the merge leaves, and one a live run holds.
	dead := filepath.Join(dir, ".out.mp4.chunkcode-1234")
	live := filepath.Join(dir, ".out.mp4.chunkcode-5678")
	fixture.WriteFile(t, dead, "half a merge")
	fixture.WriteFile(t, live, "a merge in progress")
	f, err := os.Open(live)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	other := filepath.Join(dir, ".other.mp4.chunkcode-1234")
	fixture.WriteFile(t, other, "another output's")

	r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), in, out)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.NoFileExists(t, dead, "a killed run's temporary output is removed")
	assert.FileExists(t, live, "a running one's is not")
	assert.FileExists(t, other, "nor another output's")
}

func TestUnwritableOutput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{})
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	out := "/proc/chunkcode-out.mp4" // a directory no one can create files in
	r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), "--work-dir", work, in, out)...)
	oneErrorLine(t, r, 1, out+": cannot write the output")
	assert.NotContains(t, r.stderr, ".chunkcode-", "the error names OUTPUT, not a temporary file")
	assert.NoDirExists(t, work, "noticed before the input is probed and planned")
}

func TestOldFFmpeg(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	probe, err := exec.LookPath("ffprobe")
	require.NoError(t, err)
	bin := t.TempDir()
	// Ubuntu 22.04's ffmpeg, which lacks -fps_mode.
	fixture.WriteFile(t, filepath.Join(bin, "ffmpeg"),
		"#!/bin/sh\necho 'ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers'\n")
	require.NoError(t, os.Chmod(filepath.Join(bin, "ffmpeg"), 0o755))
	require.NoError(t, os.Symlink(probe, filepath.Join(bin, "ffprobe")))
	in := fixture.Video(t, fixture.Spec{})
	out := filepath.Join(t.TempDir(), "out.mp4")
	r := chunkcode(t, []string{"PATH=" + bin + ":" + os.Getenv("PATH")}, "transcode", in, out)
	oneErrorLine(t, r, 1, "version 4.4", "5.1 or newer")
	assert.NoFileExists(t, out)
}

func TestPlaylistInput(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	fixture.Video(t, fixture.Spec{Dir: dir, Name: "secret.ts"})
	hls := filepath.Join(dir, "in.mp4")
	fixture.WriteFile(t, hls, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nsecret.ts\n#EXT-X-ENDLIST\n")
	concat := filepath.Join(dir, "list.mkv")
	fixture.WriteFile(t, concat, "ffconcat version 1.0\nfile secret.ts\n")

	for _, in := range []string{hls, concat} {
		t.Run(filepath.Base(in), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.mp4")
			r := chunkcode(t, nil, append(append([]string{"transcode"}, fast...), in, out)...)
			oneErrorLine(t, r, 1, in, "playlist")
			assert.NoFileExists(t, out)

			r = chunkcode(t, nil, append(append([]string{"transcode"}, fast...), "--allow-playlists", in, out)...)
			require.Equal(t, 0, r.code, "--allow-playlists reads it: %s", r.stderr)
			assert.Equal(t, 50, fixture.Frames(t, out))
		})
	}
}

func TestNamesThatLookLikeOptions(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	// No extension: ffmpeg would take "-report.mp4" for a file too, but
	// "-report" for its option that writes a log into the directory.
	require.NoError(t, os.Rename(fixture.Video(t, fixture.Spec{Dir: dir}), filepath.Join(dir, "-report")))
	r := chunkcodeIn(t, dir, nil, append(append([]string{"transcode"}, fast...), "--work-dir", "-work", "--", "-report", "-out.mp4")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 50, fixture.Frames(t, filepath.Join(dir, "-out.mp4")))
	logs, err := filepath.Glob(filepath.Join(dir, "ff*.log"))
	require.NoError(t, err)
	assert.Empty(t, logs, "no ffmpeg or ffprobe took a name for -report")
}

func TestFullDisk(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: 4 * time.Second, Width: 320, Height: 240, Audio: 1})
	work := t.TempDir()
	// A tmpfs too small for the segments.
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", work).CombinedOutput(); err != nil {
		fixture.Missing(t, "mount tmpfs (needs root): "+string(bytes.TrimSpace(out)))
	}
	t.Cleanup(func() { exec.Command("umount", work).Run() })
	out := filepath.Join(t.TempDir(), "out.mp4")
	r := chunkcode(t, nil, "transcode", "--no-progress", "--work-dir", work, "--workers", "1", in, out)
	assert.Equal(t, 1, r.code, "exit code; stderr: %s", r.stderr)
	lines := r.stderrLines()
	require.NotEmpty(t, lines)
	assert.Regexp(t, `^chunkcode: .*no space left on device$`, lines[len(lines)-1])
	assert.NotContains(t, r.stderr, "retrying", "a full disk is not retried")
	assert.NotContains(t, r.stderr, "moov atom")
	assert.NoFileExists(t, out)
}

func TestSettingsThatCannotWork(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{})
	tests := []struct {
		name string
		args []string
		out  string
		want []string // in the one line
	}{
		{"odd height", []string{"--height", "481"}, "out.mp4", []string{"--height", "481", "even"}},
		{"unknown codec", []string{"--codec", "foo"}, "out.mp4", []string{"--codec", "foo"}},
		{"h264 in webm", []string{"--codec", "h264"}, "out.webm", []string{"out.webm cannot hold h264 video; use --codec vp9 or av1"}},
		{"crf out of range", []string{"--crf", "99"}, "out.mp4", []string{"--crf", "99"}},
		{"unknown preset", []string{"--preset", "fastest"}, "out.mp4", []string{"--preset", "fastest"}},
		{"negative height", []string{"--height", "-480"}, "out.mp4", []string{"--height", "-480"}},
		{"too many threads", []string{"--threads", "999"}, "out.mp4", []string{"--threads", "999"}},
		{"unknown codec h266", []string{"--codec", "h266"}, "out.mp4", []string{"--codec", "h266"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := append([]string{"transcode", "--no-progress"}, tt.args...)
			r := chunkcode(t, nil, append(args, in, filepath.Join(dir, tt.out))...)
			oneErrorLine(t, r, 2, tt.want...)
			assert.NotContains(t, r.stderr, "retrying", "found before encoding")
			left, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, left, "nothing written beside the output")
		})
	}
}
