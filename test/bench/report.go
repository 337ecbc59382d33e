package main

import (
	"time"
)

// Report is everything one run measured.
type Report struct {
	Machine  Machine
	Started  time.Time
	Elapsed  time.Duration
	Sizes    Sizes
	Ceilings map[string]float64 // msgs/s by ceiling name
	Modes    []ModeResult
	GoBench  string   // `go test -bench` output, when given
	Problems []string // steps that failed, one line each
	Warnings []string // steps whose processes logged warnings, one line each
	// Only is the -run pattern when the run measured only the steps it
	// matches, "" for a full run.
	Only string
}

// ModeResult is what one delivery mode measured.
type ModeResult struct {
	Mode     string
	Idle     IdleRSS
	Producer Throughput
	Scaling  []Throughput // index k-1: k consumers
	Latency  []Latency    // one per Sizes.LatencyRates
	Work     []WorkRun    // one per Sizes.Work.Consumers
}

// Sizes are the order counts a run used.
type Sizes struct {
	Orders        int           // producer and consumer runs
	CeilingOrders int           // js pub async, js consume, core pub
	SyncOrders    int           // js pub sync
	KVOrders      int           // kv put
	LatencyFor    time.Duration // each fixed-rate run publishes rate × this
	LatencyRates  []float64
	MaxConsumers  int
	Work          WorkSizes // the scaling-with-work runs
}
