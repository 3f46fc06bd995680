package manifest

import "testing"

func TestHEVCCodec(t *testing.T) {
	for _, tc := range []struct {
		space   byte
		high    bool
		profile byte
		compat  uint32
		cons    [6]byte
		level   byte
		want    string
	}{
		// Main: compatibility flags 1 and 2 set (bits 30 and 29 from
		// the top), progressive and frame-only constraint bits.
		{0, false, 1, 0x60000000, [6]byte{0xB0}, 93, "hvc1.1.6.L93.B0"},
		{0, true, 2, 0x20000000, [6]byte{0x90}, 120, "hvc1.2.4.H120.90"},
		{1, false, 1, 0x60000000, [6]byte{}, 90, "hvc1.A1.6.L90"},
	} {
		if got := HEVCCodec(tc.space, tc.high, tc.profile, tc.compat, tc.cons, tc.level); got != tc.want {
			t.Errorf("HEVCCodec = %q, want %q", got, tc.want)
		}
	}
}
