package ffmpeg

import (
	"context"
	"strings"
	"sync"
)

var options sync.Map // ffmpeg path → string of `ffmpeg -h full`

// HasOption reports whether this ffmpeg knows the option name (without the
// dash). Newer ffmpeg versions add options that older ones lack, such as
// display_rotation; the help text is read once per program.
func (r Runner) HasOption(ctx context.Context, name string) bool {
	help, ok := options.Load(r.ffmpeg())
	if !ok {
		var b strings.Builder
		if _, err := r.run(ctx, r.ffmpeg(), []string{"-hide_banner", "-h", "full"}, &b); err != nil {
			return false
		}
		help, _ = options.LoadOrStore(r.ffmpeg(), b.String())
	}
	return strings.Contains(help.(string), "\n-"+name+" ")
}
