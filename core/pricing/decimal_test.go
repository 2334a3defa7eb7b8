package pricing

import (
	"math"
	"testing"
)

func TestFromPerToken(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want PerMillion
	}{
		{1.5e-07, 150_000}, // 1.5e-07*1e12 in floats is 149999.99999999997
		{2.5e-06, 2_500_000},
		{7.5e-08, 75_000},
		{2.75e-07, 275_000},
		{1.875e-05, 18_750_000},
		{5e-09, 5_000},
		{1.00002e-06, 1_000_020},
		{9.999990000000002e-06, 9_999_990}, // sub-resolution tail rounds away
		{0, 0},
		{1e-12, 1},
	} {
		got, err := FromPerToken(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("FromPerToken(%v) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []float64{-1e-6, math.NaN(), math.Inf(1), 1e10} {
		if _, err := FromPerToken(bad); err == nil {
			t.Errorf("FromPerToken(%v): no error", bad)
		}
	}
}

// Every price on the micro-dollar grid survives the float round trip both
// ways; a float multiplication would miss many of these by one.
func TestConversionExactOnGrid(t *testing.T) {
	naive := 0
	for n := int64(0); n <= 50_000; n++ {
		want := PerMillion(n * 29) // spread up to $1.45 per 1M
		perM := float64(want) / 1e6
		if got, err := FromDollarsPerMillion(perM); err != nil || got != want {
			t.Fatalf("FromDollarsPerMillion(%v) = %d, %v; want %d", perM, got, err, want)
		}
		perTok := float64(want) / 1e12
		if got, err := FromPerToken(perTok); err != nil || got != want {
			t.Fatalf("FromPerToken(%v) = %d, %v; want %d", perTok, got, err, want)
		}
		if PerMillion(perTok*1e12) != want {
			naive++
		}
	}
	// Documents why the decimal route exists: truncating float products is
	// wrong for a large share of real prices.
	if naive == 0 {
		t.Log("float truncation happened to be exact on this grid")
	} else {
		t.Logf("float truncation would have been off by one on %d of 50001 prices", naive)
	}
}

func TestFromDollarsPerMillion(t *testing.T) {
	for in, want := range map[float64]PerMillion{2.5: 2_500_000, 0.075: 75_000, 0.1: 100_000, 3.75: 3_750_000, 0.000001: 1, 0: 0} {
		if got, err := FromDollarsPerMillion(in); err != nil || got != want {
			t.Errorf("FromDollarsPerMillion(%v) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []float64{0.0000005, 1.23456789, -1, math.NaN()} {
		if _, err := FromDollarsPerMillion(bad); err == nil {
			t.Errorf("FromDollarsPerMillion(%v): no error", bad)
		}
	}
}
