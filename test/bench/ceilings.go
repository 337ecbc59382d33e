package main

import (
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/distsys-go/orders/platform/events"
)

// Ceiling names: what `nats bench` reaches on the same server, the upper
// bound each path of ours is compared with.
const (
	ceilPubSync  = "js pub sync"
	ceilPubAsync = "js pub async"
	// Our producer gives every order a message id, which the server
	// checks against its duplicate window: this is that same work.
	ceilPubAsyncDedup = "js pub async --dedup"
	ceilConsume       = "js consume"
	ceilKVPut         = "kv put --clients 16"
	ceilCorePub       = "core pub"
)

// errNoStats: `nats bench` printed no "stats: N msgs/sec" line.
var errNoStats = errors.New("no msgs/sec figure in nats bench output")

var statsLine = regexp.MustCompile(`stats: ([0-9][0-9,]*(?:\.[0-9]+)?) msgs/sec`)

// ParseBenchRate returns the msgs/sec of the first stats line of `nats
// bench` output ("NATS JetStream ... stats: 111,878 msgs/sec ~ ...").
func ParseBenchRate(out string) (float64, error) {
	m := statsLine.FindStringSubmatch(out)
	if m == nil {
		return 0, errNoStats
	}
	return strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
}

// orderSize is the size of one order as the producer sends it, so that
// the ceilings move messages as large as ours: its JSON body and its
// CloudEvents headers, each "name: value\r\n" on the wire. nats bench
// sends no header but the message id (--dedup), so the headers' bytes go
// into its body: the server stores and writes as many bytes.
func orderSize() int {
	o := events.Order{ID: events.NewOrderID(), Lines: []events.Line{{SKU: "sku-apple", Quantity: 3}}, CreatedAt: time.Now().UTC()}
	b, _ := events.V1.Encode(o)
	n := len(b)
	for k, v := range events.V1.Headers(o, "/orders/producer") {
		n += len(k) + len(": ") + len(v) + len("\r\n")
	}
	return n
}

// ceilingRun is one `nats bench` command; a step with two runs (consume
// needs the messages async pub stored first) reads the rate of the last.
type ceilingRun struct {
	name string
	runs [][]string
}

func ceilingRuns(n, syncN, kvN int) []ceilingRun {
	size := fmt.Sprintf("--size=%dB", orderSize())
	msgs := func(k int) string { return fmt.Sprintf("--msgs=%d", k) }
	const subj = "bench.orders"
	return []ceilingRun{
		{ceilPubSync, [][]string{{"js", "pub", "sync", msgs(syncN), size, "--create", subj}}},
		{ceilPubAsync, [][]string{{"js", "pub", "async", msgs(n), size, "--create", subj}}},
		{ceilPubAsyncDedup, [][]string{{"js", "pub", "async", msgs(n), size, "--create", "--dedup", subj}}},
		{ceilConsume, [][]string{
			{"js", "pub", "async", msgs(n), size, "--create", subj},
			{"js", "consume", msgs(n)},
		}},
		// 16 clients, as the issue measured it: one sync client is latency-bound.
		{ceilKVPut, [][]string{{"kv", "put", "--clients=16", msgs(kvN), size}}},
		{ceilCorePub, [][]string{{"pub", msgs(n), size, "bench.core"}}},
	}
}

// runCeiling runs c on a fresh server and returns the last run's rate.
func runCeiling(bins Bins, c ceilingRun) (rate float64, err error) {
	err = runStep(func(t *step) {
		url, _ := startServer(t, bins.Server)
		for _, args := range c.runs {
			full := append([]string{"--server=" + url, "bench"}, args...)
			full = append(full, "--no-progress")
			out, err := exec.Command(bins.Nats, full...).CombinedOutput()
			if err != nil {
				t.Fatalf("nats %s: %v: %s", strings.Join(args, " "), err, lastLines(string(out), 3))
			}
			if rate, err = ParseBenchRate(string(out)); err != nil {
				t.Fatalf("nats %s: %v", strings.Join(args, " "), err)
			}
		}
	})
	return rate, err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
