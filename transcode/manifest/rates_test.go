package manifest

import (
	"errors"
	"testing"
)

func TestMeasure(t *testing.T) {
	tests := []struct {
		name    string
		sizes   []int64
		seconds []float64
		want    Rates
	}{
		{"even segments", []int64{1000, 1000, 1000}, []float64{1, 1, 1}, Rates{Peak: 8000, Mean: 8000}},
		{"a busy segment sets the peak", []int64{1000, 3000, 1000}, []float64{1, 1, 1}, Rates{Peak: 24000, Mean: 13334}},
		{"a short last segment can be the peak", []int64{6000, 6000, 1500}, []float64{6, 6, 1}, Rates{Peak: 12000, Mean: 8308}},
		{"rounded up", []int64{1}, []float64{3}, Rates{Peak: 3, Mean: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Measure(tt.sizes, tt.seconds)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Measure = %+v, want %+v", got, tt.want)
			}
		})
	}
	for name, c := range map[string]struct {
		sizes   []int64
		seconds []float64
	}{
		"nothing":        {nil, nil},
		"lengths differ": {[]int64{1, 2}, []float64{1}},
		"zero duration":  {[]int64{1}, []float64{0}},
		"negative size":  {[]int64{-1}, []float64{1}},
	} {
		if _, err := Measure(c.sizes, c.seconds); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Measure = %v, want ErrInvalid", name, err)
		}
	}
	if got := (Rates{Peak: 10, Mean: 5}).Plus(Rates{Peak: 3, Mean: 2}); got != (Rates{Peak: 13, Mean: 7}) {
		t.Errorf("Plus = %+v", got)
	}
}
