package bench

import (
	"testing"
	"time"
)

func TestMergeResults(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	a := childResult{
		Consumers: map[string]ConsumerRun{"cache": {Handled: 3, Seconds: 2}},
		Handled:   3, Errors: 1, RedisCommands: 3, RedisRoundTrips: 3,
		First: t0.Add(time.Second), Last: t0.Add(3 * time.Second), LagSamples: []time.Duration{10 * ms, 20 * ms, 30 * ms},
	}
	b := childResult{
		Consumers: map[string]ConsumerRun{"cache": {Handled: 1, Seconds: 4}, "inventory": {Handled: 2, Seconds: 1}},
		Handled:   3, RedisCommands: 4, RedisRoundTrips: 2,
		First: t0, Last: t0.Add(2 * time.Second), LagSamples: []time.Duration{40 * ms, 50 * ms, 60 * ms},
	}
	for _, tc := range []struct {
		name     string
		in       []childResult
		expected map[string]int
		handled  int
		seconds  float64
		timedOut bool
		lagN     int
	}{
		{"one child is taken as it is", []childResult{a}, map[string]int{"cache": 3}, 3, 0, false, 0},
		{"two children add up over their joint span", []childResult{a, b}, map[string]int{"cache": 4, "inventory": 2}, 6, 3, false, 6},
		{"a consumer short of its calls timed out", []childResult{a, b}, map[string]int{"cache": 5, "inventory": 2}, 6, 3, true, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mergeResults(tc.in, tc.expected)
			if got.Handled != tc.handled || got.Seconds != tc.seconds || got.TimedOut != tc.timedOut || got.Lag.N != tc.lagN {
				t.Errorf("handled %d, seconds %g, timed out %v, lag samples %d; want %d, %g, %v, %d",
					got.Handled, got.Seconds, got.TimedOut, got.Lag.N, tc.handled, tc.seconds, tc.timedOut, tc.lagN)
			}
			if len(tc.in) == 2 {
				if c := got.Consumers["cache"]; c.Handled != 4 || c.Seconds != 4 || c.PerSecond != 1 {
					t.Errorf("cache %+v, want 4 calls in 4 s", c)
				}
				if got.RedisCommands != 7 || got.RedisRoundTrips != 5 || got.Errors != 1 {
					t.Errorf("redis %d/%d, errors %d; want 7/5, 1", got.RedisCommands, got.RedisRoundTrips, got.Errors)
				}
				if got.Lag.MaxMs != 60 {
					t.Errorf("lag max %g ms, want 60", got.Lag.MaxMs)
				}
			}
		})
	}
}
