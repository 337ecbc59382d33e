package service

import (
	"bytes"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"300", 300, true},
		{"100", 100, true},
		{"off", -1, true},
		{"0", 0, false},
		{"-5", 0, false},
		{"fast", 0, false},
		{"", 0, false},
	} {
		got, err := GC{Percent: tc.in}.percent()
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("GOGC=%q: %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if (GC{Percent: tc.in, MemoryRatio: "0.9"}.Validate() == nil) != tc.ok {
			t.Errorf("GOGC=%q: Validate disagrees with percent", tc.in)
		}
	}
}

func TestGCMemoryRatio(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0.9", 0.9, true},
		{"1", 1, true},
		{"off", 0, true},
		{"0", 0, false},
		{"1.5", 0, false},
		{"-0.5", 0, false},
		{"NaN", 0, false},
		{"90%", 0, false},
		{"", 0, false},
	} {
		got, err := GC{MemoryRatio: tc.in}.ratio()
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("AUTOMEMLIMIT=%q: %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		err = GC{Percent: "300", MemoryRatio: tc.in}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("AUTOMEMLIMIT=%q: Validate disagrees with ratio", tc.in)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "AUTOMEMLIMIT=") {
			t.Errorf("AUTOMEMLIMIT=%q: error %q does not name the variable first", tc.in, err)
		}
	}
}

// TestGCApplyMemoryLimit runs apply against a container limit of 128 MiB
// (the chart's) and reads back the limit the runtime uses.
func TestGCApplyMemoryLimit(t *testing.T) {
	const limit = 128 << 20
	for _, tc := range []struct {
		name, ratio, gomemlimit string // gomemlimit "" is unset
		provider                memlimit.Provider
		want                    int64
		logged                  string
	}{
		{"ratio of the limit", "0.9", "", memlimit.Limit(limit), limit * 9 / 10, "memory limit set"},
		{"whole limit", "1", "", memlimit.Limit(limit), limit, "memory limit set"},
		{"off", "off", "", memlimit.Limit(limit), math.MaxInt64, ""},
		{"no container limit", "0.9", "", func() (uint64, error) { return 0, memlimit.ErrNoLimit }, math.MaxInt64, "the container has none"},
		{"no cgroups", "0.9", "", func() (uint64, error) { return 0, memlimit.ErrCgroupsNotSupported }, math.MaxInt64, "no container limit found"},
		// The runtime applied GOMEMLIMIT before main; memlimit leaves it.
		{"GOMEMLIMIT wins", "0.9", "50MiB", memlimit.Limit(limit), 50 << 20, "GOMEMLIMIT=50MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prevLimit, prevPercent := debug.SetMemoryLimit(math.MaxInt64), debug.SetGCPercent(100)
			t.Cleanup(func() { debug.SetMemoryLimit(prevLimit); debug.SetGCPercent(prevPercent) })
			t.Setenv("AUTOMEMLIMIT", tc.ratio)
			if tc.gomemlimit != "" {
				t.Setenv("GOMEMLIMIT", tc.gomemlimit)
				debug.SetMemoryLimit(tc.want) // what the runtime did at start-up
			}
			var logs bytes.Buffer
			GC{Percent: "300", MemoryRatio: tc.ratio, MemoryLimit: tc.gomemlimit}.apply(tc.provider, slog.New(slog.NewTextHandler(&logs, nil)))

			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Errorf("memory limit %d, want %d", got, tc.want)
			}
			if got := debug.SetGCPercent(100); got != 300 {
				t.Errorf("GC percent %d, want 300", got)
			}
			if !strings.Contains(logs.String(), tc.logged) || (tc.logged == "") != (logs.Len() == 0) {
				t.Errorf("logged %q, want a line with %q", logs.String(), tc.logged)
			}
		})
	}
}
