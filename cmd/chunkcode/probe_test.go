package main

import (
	"encoding/json"
	encjson "encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chunkcode/chunkcode/internal/fixture"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// probeFlags are the settings the probe tests plan with: four segments of
// a two-second fixture, and threads that do not depend on this machine.
var probeFlags = []string{"--workers", "2", "--threads", "1", "--segment-duration", "0.5", "--preset", "ultrafast"}

func TestProbeWithoutFFprobe(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	onlyFFmpeg := t.TempDir()
	fixture.WriteFile(t, filepath.Join(onlyFFmpeg, "ffmpeg"), "#!/bin/sh\necho 'ffmpeg version 7.1'\n")
	require.NoError(t, os.Chmod(filepath.Join(onlyFFmpeg, "ffmpeg"), 0o755))
	tests := []struct {
		name, path, stderr string
	}{
		{"only ffmpeg on PATH", onlyFFmpeg, "chunkcode: find ffprobe: not installed (install ffmpeg 5.1 or newer)\n"},
		{"nothing on PATH", t.TempDir(), "chunkcode: find ffmpeg: not installed (install ffmpeg 5.1 or newer)\n"},
	}
	for _, tt := range tests {
		for _, json := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s json=%v", tt.name, json), func(t *testing.T) {
				t.Parallel()
				args := []string{"probe", in}
				if json {
					args = []string{"probe", "--json", in}
				}
				r := chunkcode(t, []string{"PATH=" + tt.path}, args...)
				assert.Equal(t, 1, r.code, "exit code")
				assert.Equal(t, tt.stderr, r.stderr, "the error names the missing program, not the file")
				if !json {
					assert.Empty(t, r.stdout)
					return
				}
				var failure struct {
					Error    string `json:"error"`
					Kind     string `json:"kind"`
					ExitCode int    `json:"exit_code"`
				}
				require.NoError(t, encjson.Unmarshal([]byte(r.stdout), &failure), "--json prints the failure as one object")
				assert.Equal(t, strings.TrimSuffix(strings.TrimPrefix(tt.stderr, "chunkcode: "), "\n"), failure.Error)
				assert.Equal(t, "failure", failure.Kind)
				assert.Equal(t, 1, failure.ExitCode)
			})
		}
	}
}

func TestProbeText(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()

	t.Run("streams with titles and the plan", func(t *testing.T) {
		t.Parallel()
		plain := fixture.Video(t, fixture.Spec{Name: "in.mkv", Audio: 1, AudioEncoder: "flac", Languages: []string{"eng"}})
		in := filepath.Join(t.TempDir(), "titled.mkv") // MP4 keeps no stream titles
		fixture.FFmpeg(t, "-i", plain, "-map", "0", "-c", "copy",
			"-metadata:s:v:0", "title=Main", "-metadata:s:a:0", "title=Director's commentary", in)
		r := chunkcode(t, nil, append(append([]string{"probe"}, probeFlags...), in, "out.mkv")...)
		require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
		want := fmt.Sprintf(`%s: Matroska, 2.000s, %d bytes, 0 chapters
video: 50 frames, 25 fps (CFR), 2 keyframes
  #0 video h264 160x120, yuv420p, title "Main" (2.000s)
  #1 audio flac 48000 Hz, 1 ch, lang eng, title "Director's commentary" (2.000s)
plan for out.mkv (h264 crf 23, preset ultrafast, aac audio) on local, 2 workers of 1 thread:
  4 segments of about 0.5s, 2 starting on a keyframe
  segment 1: frames 0-12 (13), start 0.000s, 0.520s, keyframe
  segment 2: frames 13-24 (12), start 0.520s, 0.480s, exact frame
  segment 3: frames 25-37 (13), start 1.000s, 0.520s, keyframe
  segment 4: frames 38-49 (12), start 1.520s, 0.480s, exact frame
`, in, size(t, in))
		assert.Equal(t, want, r.stdout)
		assert.Empty(t, r.stderr)
	})

	t.Run("variable frame rate", func(t *testing.T) {
		t.Parallel()
		in := fixture.Video(t, fixture.Spec{Name: "vfr.mkv", VFR: true})
		r := chunkcode(t, nil, "probe", in)
		require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
		assert.Equal(t, "video: 50 frames, VFR: 28.736 fps average, 50 fps peak, 2 keyframes", line(t, r.stdout, 1))
	})

	t.Run("rotation only when rotated", func(t *testing.T) {
		t.Parallel()
		rotated := chunkcode(t, nil, "probe", fixture.Video(t, fixture.Spec{Rotate: 90}))
		require.Equal(t, 0, rotated.code, "stderr: %s", rotated.stderr)
		assert.Regexp(t, `^video: 50 frames, 25 fps \(CFR\), 2 keyframes, rotation -?90$`, line(t, rotated.stdout, 1))
		upright := chunkcode(t, nil, "probe", fixture.Video(t, fixture.Spec{}))
		require.Equal(t, 0, upright.code, "stderr: %s", upright.stderr)
		assert.Equal(t, "video: 50 frames, 25 fps (CFR), 2 keyframes", line(t, upright.stdout, 1))
	})

	containers := []struct {
		spec fixture.Spec
		want string
	}{
		{fixture.Spec{Name: "in.mp4"}, "MP4"},
		{fixture.Spec{Name: "in.mov"}, "QuickTime/MOV"},
		{fixture.Spec{Name: "in.mkv"}, "Matroska"},
		{fixture.Spec{Name: "in.webm", Encoder: "libvpx-vp9"}, "WebM"},
		{fixture.Spec{Name: "in.ts"}, "MPEG-TS"},
	}
	for _, tt := range containers {
		t.Run("container "+tt.want, func(t *testing.T) {
			t.Parallel()
			in := fixture.Video(t, tt.spec)
			r := chunkcode(t, nil, "probe", in)
			require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
			assert.True(t, strings.HasPrefix(line(t, r.stdout, 0), in+": "+tt.want+", "), "%q", line(t, r.stdout, 0))
		})
	}
}

// line returns line i of s, counting from 0.
func line(t *testing.T, s string, i int) string {
	t.Helper()
	lines := strings.Split(s, "\n")
	require.Greater(t, len(lines), i, "output: %s", s)
	return lines[i]
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}

func TestProbeJSON(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	tests := []struct {
		name  string
		spec  fixture.Spec
		check func(t *testing.T, p map[string]any)
	}{
		{"mp4 with audio", fixture.Spec{Audio: 1}, func(t *testing.T, p map[string]any) {
			assert.Equal(t, "MP4", p["format"])
			assert.Equal(t, "mov,mp4,m4a,3gp,3g2,mj2", p["format_name"])
			assert.Equal(t, false, p["vfr"])
			assert.EqualValues(t, 0, p["rotation"])
			assert.EqualValues(t, 2, p["keyframes"])
			assert.Equal(t, "25/1", p["frame_rate"])
			assert.EqualValues(t, 25, p["average_fps"])
			assert.EqualValues(t, 25, p["peak_fps"])
			streams := p["streams"].([]any)
			require.Len(t, streams, 2)
			video, audio := streams[0].(map[string]any), streams[1].(map[string]any)
			assert.Equal(t, "video", video["type"])
			assert.Equal(t, "25/1", video["frame_rate"])
			assert.Equal(t, "1/12800", video["time_base"])
			assert.Equal(t, "audio", audio["type"])
			assert.NotContains(t, audio, "frame_rate", "audio has no frame rate")
			assert.Equal(t, "1/48000", audio["time_base"])
			assert.Equal(t, "aac", p["plan"].(map[string]any)["audio_codec"])
		}},
		{"variable frame rate", fixture.Spec{Name: "vfr.mkv", VFR: true}, func(t *testing.T, p map[string]any) {
			assert.Equal(t, "Matroska", p["format"])
			assert.Equal(t, true, p["vfr"])
			assert.EqualValues(t, 28.735632, p["average_fps"], "rounded to six decimals")
			assert.EqualValues(t, 50, p["peak_fps"])
			assert.NotContains(t, p["plan"], "audio_codec", "no audio, no audio codec")
		}},
		{"rotated", fixture.Spec{Rotate: 90}, func(t *testing.T, p map[string]any) {
			assert.NotZero(t, p["rotation"])
		}},
		{"chapters", fixture.Spec{Name: "ch.mkv", Chapters: 3}, func(t *testing.T, p map[string]any) {
			assert.EqualValues(t, 3, p["chapters"])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := fixture.Video(t, tt.spec)
			r := chunkcode(t, nil, append(append([]string{"probe", "--json"}, probeFlags...), in)...)
			require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
			checkJSONStyle(t, r.stdout)
			p := decodeOne(t, r.stdout)
			for _, k := range []string{"path", "format", "format_name", "duration_seconds", "size_bytes", "frames", "frame_rate",
				"average_fps", "peak_fps", "vfr", "rotation", "keyframes", "chapters", "streams", "plan"} {
				assert.Contains(t, p, k)
			}
			assert.NotContains(t, p, "commands", "only with --print-commands")
			assert.Equal(t, in, p["path"])
			assert.EqualValues(t, 50, p["frames"])
			assert.EqualValues(t, size(t, in), p["size_bytes"])
			assert.InDelta(t, 2.0, p["duration_seconds"], 0.3) // the VFR fixture lasts 1.74s
			plan := p["plan"].(map[string]any)
			assert.Equal(t, "out.mp4", plan["output"], "OUTPUT's default")
			assert.Equal(t, "mp4", plan["container"])
			assert.Equal(t, "local", plan["backend"])
			assert.Equal(t, "h264", plan["codec"])
			assert.EqualValues(t, 23, plan["crf"])
			assert.Equal(t, "ultrafast", plan["preset"])
			assert.EqualValues(t, 2, plan["workers"])
			assert.EqualValues(t, 1, plan["threads_per_worker"])
			assert.EqualValues(t, 0.5, plan["segment_duration_seconds"])
			assert.EqualValues(t, 50, plan["frames"])
			assert.Regexp(t, `^1/\d+$`, plan["time_base"])
			segments := plan["segments"].([]any)
			require.GreaterOrEqual(t, len(segments), 3)
			frames := 0.0
			for i, s := range segments {
				seg := s.(map[string]any)
				for _, k := range []string{"index", "first_frame", "last_frame", "frames", "start_pts", "end_pts", "seek_seconds", "duration_seconds", "keyframe"} {
					assert.Contains(t, seg, k)
				}
				assert.EqualValues(t, i+1, seg["index"], "segments are numbered from 1")
				assert.Equal(t, frames, seg["first_frame"])
				frames += seg["frames"].(float64)
				assert.Equal(t, frames-1, seg["last_frame"])
			}
			assert.EqualValues(t, 50, frames, "the plan's segments add up to every frame")
			tt.check(t, p)
		})
	}
}

// checkJSONStyle checks what every key and number of chunkcode's JSON must
// look like: snake_case keys, times in seconds, no float noise, no "0/0".
func checkJSONStyle(t *testing.T, s string) {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				assert.Regexp(t, snake, k, "key %s.%s is snake_case", path, k)
				assert.False(t, strings.HasSuffix(k, "_ns") || strings.HasSuffix(k, "_us") || strings.HasSuffix(k, "_ms"),
					"key %s.%s is not in seconds", path, k)
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case string:
			assert.NotEqual(t, "0/0", v, "%s", path)
		}
	}
	walk("", v)
	assert.NotRegexp(t, `[:\[,]\s*-?\d+\.\d{7,}`, s, "numbers have at most six decimals")
}

// TestProbePlanIsTranscodePlan checks that probe shows the plan transcode
// follows with the same flags.
func TestProbePlanIsTranscodePlan(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1, GOP: 20})
	tests := []struct {
		name  string
		flags []string
	}{
		{"segment duration", []string{"--workers", "2", "--segment-duration", "0.5", "--preset", "ultrafast"}},
		{"automatic segments, threads", []string{"--workers", "3", "--segment-duration", "0.7", "--threads", "1", "--preset", "ultrafast"}},
		{"h265 and height", []string{"--codec", "h265", "--height", "60", "--workers", "2", "--segment-duration", "0.8", "--preset", "ultrafast"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.mkv")
			probe := chunkcode(t, nil, append(append([]string{"probe", "--json"}, tt.flags...), in, out)...)
			require.Equal(t, 0, probe.code, "stderr: %s", probe.stderr)
			tc := chunkcode(t, nil, append(append([]string{"transcode", "--json", "--no-progress"}, tt.flags...), in, out)...)
			require.Equal(t, 0, tc.code, "stderr: %s", tc.stderr)

			var p struct {
				Plan struct {
					Workers      int `json:"workers"`
					Threads      int `json:"threads_per_worker"`
					Frames       int `json:"frames"`
					KeyframeCuts int `json:"keyframe_cuts"`
					Codec        string
					Segments     []struct {
						Index, Frames int
					}
				}
			}
			var s struct {
				Workers      int    `json:"workers"`
				Threads      int    `json:"threads_per_worker"`
				Frames       int    `json:"frames"`
				Segments     int    `json:"segments"`
				KeyframeCuts int    `json:"keyframe_cuts"`
				Codec        string `json:"codec"`
				Results      []struct {
					Index, Frames int
				} `json:"segment_results"`
			}
			require.NoError(t, json.Unmarshal([]byte(probe.stdout), &p))
			require.NoError(t, json.Unmarshal([]byte(tc.stdout), &s))
			assert.Equal(t, s.Segments, len(p.Plan.Segments), "segments")
			assert.Equal(t, s.KeyframeCuts, p.Plan.KeyframeCuts, "keyframe cuts")
			assert.Equal(t, s.Workers, p.Plan.Workers, "workers")
			assert.Equal(t, s.Threads, p.Plan.Threads, "threads")
			assert.Equal(t, s.Frames, p.Plan.Frames, "frames")
			assert.Equal(t, s.Codec, p.Plan.Codec, "codec")
			require.Len(t, s.Results, len(p.Plan.Segments))
			for i, seg := range p.Plan.Segments {
				assert.Equal(t, s.Results[i].Index+1, seg.Index, "segment %d", i+1)
				assert.Equal(t, s.Results[i].Frames, seg.Frames, "segment %d's frames", i+1)
			}
		})
	}
}

func TestProbePrintCommands(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Audio: 1})
	dir := t.TempDir()
	work := filepath.Join(dir, "it's work") // names the shell must be told are one word
	out := filepath.Join(dir, "out $put.mkv")
	args := append(append([]string{"probe", "--print-commands", "--work-dir", work}, probeFlags...), in, out)
	r := chunkcode(t, nil, args...)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	var steps []string
	commands := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	for i, l := range lines {
		if step, ok := strings.CutPrefix(l, "# "); ok && i+1 < len(lines) {
			steps = append(steps, step)
			commands[step] = lines[i+1]
		}
	}
	require.Equal(t, []string{"work directory", "segment 1", "segment 2", "segment 3", "segment 4", "audio", "concat list", "merge"}, steps)

	jr := chunkcode(t, nil, append([]string{"probe", "--json"}, args[1:]...)...)
	require.Equal(t, 0, jr.code, "stderr: %s", jr.stderr)
	var p struct {
		Plan struct {
			Segments []struct{ Frames int }
		}
		Commands []struct {
			Step   string
			Env    []string
			Args   []string
			Stdout string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(jr.stdout), &p))
	require.Len(t, p.Commands, len(steps))
	for i, c := range p.Commands {
		assert.Equal(t, steps[i], c.Step)
		if strings.HasPrefix(c.Step, "segment ") || c.Step == "audio" || c.Step == "merge" {
			assert.Equal(t, "ffmpeg", c.Args[0], "%s", c.Step)
		}
	}
	assert.Equal(t, out, p.Commands[len(p.Commands)-1].Args[len(p.Commands[len(p.Commands)-1].Args)-1], "the merge writes OUTPUT")

	sh := func(t *testing.T, step string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", commands[step])
		cmd.Dir = t.TempDir() // the commands name every file they read and write
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s\n%s", step, commands[step], b)
	}
	sh(t, "work directory")
	sh(t, "segment 2")
	assert.Equal(t, p.Plan.Segments[1].Frames, fixture.Frames(t, filepath.Join(work, "seg-00001.mp4")),
		"segment 2's command encodes its planned frames")

	for _, step := range steps {
		if step != "segment 2" && step != "work directory" {
			sh(t, step)
		}
	}
	assert.Equal(t, 50, fixture.Frames(t, out), "the commands make the whole output")
	assert.Len(t, fixture.Inspect(t, out).StreamsOf("audio"), 1)
}

func TestProbeUsage(t *testing.T) {
	fixture.RequireFFmpeg(t)
	t.Parallel()
	in := fixture.Video(t, fixture.Spec{Duration: time.Second})
	tests := []struct {
		name string
		args []string
		flag string // what the message names
	}{
		{"three arguments", []string{"probe", in, "a.mp4", "b.mp4"}, "usage: chunkcode probe INPUT [OUTPUT] (got 3 arguments)"},
		{"crf out of range", []string{"probe", "--crf", "99", in}, "--crf"},
		{"unknown codec", []string{"probe", "--codec", "h266", in}, "--codec"},
		{"codec the container cannot hold", []string{"probe", "--codec", "h265", in, "out.webm"}, "--codec"},
		{"negative workers", []string{"probe", "--workers", "-1", in}, "--workers"},
		{"bad segment duration", []string{"probe", "--segment-duration", "soon", in}, "--segment-duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := chunkcode(t, nil, tt.args...)
			assert.Equal(t, 2, r.code, "exit code; stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, tt.flag)
			assert.Empty(t, r.stdout)
		})
	}
}
