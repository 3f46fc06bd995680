package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"-c:v", "-c:v"},
		{"/dir/seg-00001.mp4", "/dir/seg-00001.mp4"},
		{"GLIBC_TUNABLES=glibc.malloc.hugetlb=1", "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"},
		{"", "''"},
		{"two words", "'two words'"},
		{"it's", `'it'\''s'`},
		{"trim=start_pts=3,setpts=PTS-STARTPTS", "trim=start_pts=3,setpts=PTS-STARTPTS"},
		{"$HOME", "'$HOME'"},
		{"*.mp4", "'*.mp4'"},
		{"~user", "'~user'"},
		{"a\nb", "'a\nb'"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, shellQuote(tt.in), "shellQuote(%q)", tt.in)
	}
}

// TestShellJoinRoundTrip has sh split joined words back and checks it gets
// the same words.
func TestShellJoinRoundTrip(t *testing.T) {
	words := []string{"plain", "", "two words", "it's", `back\slash`, `"dq"`, "$HOME", "`id`", "*", "a\nb", "tab\there", "!", "#x", "ü"}
	out, err := exec.Command("sh", "-c", `printf '%s\0' `+shellJoin(words)).Output()
	require.NoError(t, err)
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	assert.Equal(t, words, got)
}
