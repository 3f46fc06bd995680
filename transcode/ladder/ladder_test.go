package ladder

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// summary returns the rungs as "WxH@kbps" strings, for compact tables.
func summary(rungs []Rung) []string {
	var s []string
	for _, r := range rungs {
		s = append(s, fmt.Sprintf("%dx%d@%d", r.Width, r.Height, r.MaxrateKbps))
	}
	return s
}

func TestAuto(t *testing.T) {
	tests := []struct {
		name       string
		srcW, srcH int
		want       []string
	}{
		{"1080p source gets every rung from 1080 down", 1920, 1080, []string{
			"1920x1080@7800", "1280x720@4500", "960x540@2000", "768x432@1100", "640x360@365", "416x234@145"}},
		{"2160p source gets the whole ladder", 3840, 2160, []string{
			"3840x2160@16800", "2560x1440@8100", "1920x1080@7800", "1280x720@4500", "960x540@2000", "768x432@1100", "640x360@365", "416x234@145"}},
		{"source above the ladder is not upscaled past 2160", 7680, 4320, []string{
			"3840x2160@16800", "2560x1440@8100", "1920x1080@7800", "1280x720@4500", "960x540@2000", "768x432@1100", "640x360@365", "416x234@145"}},
		{"720p source never upscales", 1280, 720, []string{
			"1280x720@4500", "960x540@2000", "768x432@1100", "640x360@365", "416x234@145"}},
		{"source between two ladder heights tops the ladder", 1600, 900, []string{
			"1600x900@5985", "1280x720@4500", "960x540@2000", "768x432@1100", "640x360@365", "416x234@145"}},
		{"source just above a ladder height is served by it", 1936, 1088, []string{
			"1922x1080@7800", "1282x720@4500", "960x540@2000", "768x432@1100", "640x360@365", "416x234@145"}},
		{"4:3 source keeps its aspect", 640, 480, []string{
			"640x480@1475", "576x432@1100", "480x360@365", "312x234@145"}},
		{"tiny source still gets one rung", 160, 90, []string{"160x90@21"}},
		{"odd source height rounds down to even", 177, 101, []string{"176x100@26"}},
		{"source exactly at the lowest rung", 416, 234, []string{"416x234@145"}},
		{"portrait phone video by displayed height", 1080, 1920, []string{
			"1080x1920@13513", "810x1440@8100", "608x1080@7800", "406x720@4500", "304x540@2000", "244x432@1100", "202x360@365", "132x234@145"}},
		{"zero size gives no ladder", 0, 720, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summary(Auto(tt.srcW, tt.srcH))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Auto(%d, %d) = %q, want %q", tt.srcW, tt.srcH, got, tt.want)
			}
		})
	}
}

func TestAutoInvariants(t *testing.T) {
	for _, src := range [][2]int{{1920, 1080}, {1280, 720}, {854, 480}, {320, 240}, {64, 36}, {2, 2}, {1998, 1080}, {720, 1280}} {
		rungs := Auto(src[0], src[1])
		if len(rungs) == 0 {
			t.Errorf("Auto(%v): no rung", src)
		}
		for i, r := range rungs {
			if r.Height > src[1] || r.Width > src[0]+1 {
				t.Errorf("Auto(%v): rung %v upscales", src, r)
			}
			if r.Height%2 != 0 || r.Width%2 != 0 {
				t.Errorf("Auto(%v): rung %v has an odd side", src, r)
			}
			if r.BufsizeKbps != 2*r.MaxrateKbps || r.MaxrateKbps <= 0 {
				t.Errorf("Auto(%v): rung %v: bufsize is not twice a positive maxrate", src, r)
			}
			if i > 0 && (r.Height >= rungs[i-1].Height || r.MaxrateKbps > rungs[i-1].MaxrateKbps) {
				t.Errorf("Auto(%v): rung %v does not sit below %v", src, r, rungs[i-1])
			}
		}
	}
}

func TestRate(t *testing.T) {
	tests := []struct{ height, want int }{
		{1080, 7800}, {720, 4500}, {234, 145},
		{900, 5985},   // 45% of the way in pixels from 720p to 1080p: 4500 + 0.45×3300
		{480, 1475},   // (480²-432²)/(540²-432²) = 0.417 of the way from 1100 to 2000
		{117, 36},     // half of 234: a quarter of the pixels
		{4320, 67200}, // twice 2160: four times the pixels
	}
	for _, tt := range tests {
		if got := Rate(tt.height); got != tt.want {
			t.Errorf("Rate(%d) = %d, want %d", tt.height, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want []string
	}{
		{"heights take published rates, highest first", "480,1080,720", []string{"0x1080@7800", "0x720@4500", "0x480@1475"}},
		{"explicit rates", "720x3000, 360x600", []string{"0x720@3000", "0x360@600"}},
		{"mixed items and upper-case X", "1080X6000,540", []string{"0x1080@6000", "0x540@2000"}},
		{"one rung", "240", []string{"0x240@153"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rungs, err := Parse(tt.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			if got := summary(rungs); !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%q) = %q, want %q", tt.spec, got, tt.want)
			}
			for _, r := range rungs {
				if r.BufsizeKbps != 2*r.MaxrateKbps {
					t.Errorf("rung %v: bufsize %d, want %d", r, r.BufsizeKbps, 2*r.MaxrateKbps)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, spec, mention string
	}{
		{"empty", " ", "empty"},
		{"not a number", "1080,big", `"big"`},
		{"negative height", "-720", `"-720"`},
		{"odd height", "721", "odd"},
		{"bad rate", "720x", `"720x"`},
		{"zero rate", "720x0", `"720x0"`},
		{"rate with unit", "720x3M", `"3m"`},
		{"empty item", "720,,480", `item ""`},
		{"duplicate height", "720,720x3000", "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.spec)
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) = %v, want ErrSyntax", tt.spec, err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("Parse(%q) = %q, want it to mention %s", tt.spec, err, tt.mention)
			}
		})
	}
}

func TestSized(t *testing.T) {
	rungs, err := Parse("720,360")
	if err != nil {
		t.Fatal(err)
	}
	got := summary(Sized(rungs, 1920, 800)) // 2.4:1 scope
	want := []string{"1728x720@4500", "864x360@365"}
	if !slices.Equal(got, want) {
		t.Errorf("Sized = %q, want %q", got, want)
	}
	if rungs[0].Width != 0 {
		t.Errorf("Sized changed its argument")
	}
}
