package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command line: where things are, the sizes, and which
// steps to run.
type options struct {
	bin, out, goBench string
	sizes             Sizes
	only              *regexp.Regexp // nil: every step
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", "bin", "directory of nats-server, nats, producer and consumer")
	fs.StringVar(&o.out, "out", "bench", "directory report.md and the plots are written to")
	fs.StringVar(&o.goBench, "gobench", "", "file with `go test -bench` output to include in the report")
	fs.IntVar(&o.sizes.Orders, "orders", 100000, "orders per producer and consumer run")
	fs.IntVar(&o.sizes.CeilingOrders, "ceiling-orders", 300000, "messages of the js pub async, js consume and core pub ceilings")
	fs.IntVar(&o.sizes.SyncOrders, "sync-orders", 10000, "messages of the js pub sync ceiling")
	fs.IntVar(&o.sizes.KVOrders, "kv-orders", 50000, "puts of the kv put ceiling")
	fs.DurationVar(&o.sizes.LatencyFor, "latency-for", 5*time.Second, "length of each fixed-rate run (longer runs give steadier p99s: a 10 ms hiccup of a busy machine holds 100 orders at 10,000/s)")
	fs.IntVar(&o.sizes.MaxConsumers, "consumers", 4, "throughput is measured with 1 up to this many consumers")
	w := &o.sizes.Work
	fs.DurationVar(&w.WorkTime, "work-time", defaultWorkTime, "WORK_TIME of the consumers in the scaling-with-work runs")
	fs.IntVar(&w.Concurrency, "work-concurrency", defaultWorkConcurrency, "CONCURRENCY of the consumers in the scaling-with-work runs")
	w.Consumers = defaultWorkConsumers
	fs.Func("work-consumers", "consumer counts of the scaling-with-work runs, comma-separated (default 1,2,4,8)", func(v string) (err error) {
		w.Consumers, err = parseCounts(v)
		return err
	})
	fs.DurationVar(&w.For, "work-for", defaultWorkFor, "ideal work each scaling-with-work run offers: k × CONCURRENCY / WORK_TIME × this many orders")
	only := fs.String("run", "", "measure only the steps whose progress line matches this regular expression (the report says so; default: all)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if w.WorkTime <= 0 || w.Concurrency < 1 || w.For <= 0 {
		return o, fmt.Errorf("-work-time, -work-concurrency and -work-for must be positive")
	}
	o.sizes.LatencyRates = []float64{1000, 10000}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return o, fmt.Errorf("-run: %w", err)
		}
		o.only = re
	}
	return o, nil
}

// parseCounts reads "1,2,4,8": positive counts, rising.
func parseCounts(v string) ([]int, error) {
	var ns []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || (len(ns) > 0 && n <= ns[len(ns)-1]) {
			return nil, fmt.Errorf("%q: want rising positive counts, comma-separated", v)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	bins, err := binsIn(o.bin)
	if err != nil {
		return err
	}
	r := Report{Machine: readMachine(bins), Started: time.Now(), Sizes: o.sizes, Ceilings: map[string]float64{}}
	if o.only != nil {
		r.Only = o.only.String()
	}
	if o.goBench != "" {
		b, err := os.ReadFile(o.goBench)
		if err != nil {
			return fmt.Errorf("-gobench: %w", err)
		}
		r.GoBench = benchLines(string(b))
	}
	fmt.Fprintf(os.Stderr, "bench: load average %s, %d cores, %s\n", r.Machine.LoadAverage, r.Machine.Cores, r.Machine.NatsServer)
	measureAll(&r, bins, &progress{w: os.Stderr, start: r.Started}, o.only)
	r.Elapsed = time.Since(r.Started)
	if err := write(r, o.out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s in %s\n", filepath.Join(o.out, "report.md"), r.Elapsed.Round(time.Second))
	if len(r.Problems) > 0 {
		return fmt.Errorf("%d steps failed (listed in the report)", len(r.Problems))
	}
	return nil
}

// write renders the report and its plots into dir.
func write(r Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := r.Render(&md); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	return writePlots(r, dir)
}

// benchLines keeps the package and result lines of `go test -bench`
// output, without the per-package ok/PASS noise.
func benchLines(out string) string {
	var keep []string
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "pkg: ") || strings.HasPrefix(line, "Benchmark") {
			keep = append(keep, strings.TrimRight(line, "\n"))
		}
	}
	return strings.Join(keep, "\n")
}
