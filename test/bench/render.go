package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Targets of issue 11 the report marks as met or missed.
const (
	targetP99Ms       = 5.0
	targetIdleRSSMB   = 20.0
	targetLoadedRSSMB = 40.0
)

// Plot files, next to report.md.
const (
	plotLatency = "latency_cdf.png"
	plotScaling = "throughput_consumers.png"
	plotRatios  = "ratios.png"
	plotWork    = "scaling_work.png"
)

// Render writes the report as Markdown.
func (r Report) Render(w io.Writer) error {
	mw := &mdWriter{w: w}
	mw.header(r)
	mw.ratios(r.Ratios())
	mw.latency(r)
	mw.scaling(r)
	mw.work(r)
	mw.costs(r)
	mw.machine(r)
	mw.goBench(r.GoBench)
	mw.problems(r.Problems)
	mw.warnings(r.Warnings)
	return mw.err
}

// mdWriter writes Markdown and keeps the first write error.
type mdWriter struct {
	w   io.Writer
	err error
}

func (m *mdWriter) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

func (m *mdWriter) row(cells ...string) { m.printf("| %s |\n", strings.Join(cells, " | ")) }

func (m *mdWriter) table(head ...string) {
	m.row(head...)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---"
	}
	m.row(sep...)
}

func (m *mdWriter) header(r Report) {
	m.printf("# Benchmark report\n\n")
	m.printf("Written by `make bench` (test/bench) on %s in %s, load average %s at the start, on %d × %s.\n",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Elapsed.Round(timeRound), r.Machine.LoadAverage, r.Machine.Cores, r.Machine.CPU)
	m.printf("Each figure is one run on a fresh nats-server (file store, loopback); rates are taken from the services' own log timestamps, start-up excluded. " +
		"The ceilings are `nats bench` (natscli) on the same server with messages of an order's size. Figures vary from run to run and machine to machine: read the ratios, not the absolute rates.\n\n")
	if r.Only != "" {
		m.printf("**Only the steps matching `-run %s` were measured: the others show n/a.**\n\n", r.Only)
	}
	if r.Machine.Busy() {
		m.printf("**The machine was busy when this run started (1-minute load average above its %d cores): the figures are noisy.**\n\n", r.Machine.Cores)
	}
}

func (m *mdWriter) ratios(rows []RatioRow) {
	m.printf("## Ours against the ceilings\n\n")
	m.table("path", "mode", "ours (orders/s)", "ceiling", "ceiling (msgs/s)", "ratio", "target")
	for _, row := range rows {
		m.row(row.Path, row.Mode, rate(row.Ours), row.Ceiling, rate(row.CeilingRate), percent(row.Ratio), ratioTarget(row))
	}
	m.printf("\n![ours against the ceilings](%s)\n\n", plotRatios)
}

func (m *mdWriter) latency(r Report) {
	m.printf("## End-to-end latency at fixed rates, one consumer\n\n")
	m.printf("Age of each order when the consumer has recorded it (`age_ms` of its \"received order\" line), in the latency run of each rate; "+
		"\"achieved\" is the producer's own rate in that run, below the rate asked for when the producer could not keep the pace. The plot draws 0 ms at %g ms (log axis).\n\n", minPlotMs)
	m.table("mode", "rate (orders/s)", "achieved", "orders", "p50 (ms)", "p99 (ms)", "max (ms)", "p99 < 5 ms")
	for _, mr := range r.Modes {
		for _, l := range mr.Latency {
			m.row(mr.Mode, rate(l.Target), rate(l.Achieved), fmt.Sprint(l.N), ms(l.P50), ms(l.P99), ms(l.Max), met(l.P99, targetP99Ms, l.N > 0))
		}
	}
	m.printf("\n![latency CDF](%s)\n\n", plotLatency)
}

func (m *mdWriter) scaling(r Report) {
	m.printf("## Throughput against consumer count\n\n")
	m.printf("JetStream: %d stored orders drained by k consumers. Core: k consumers taking %[1]d orders while the producer publishes them at full rate (nothing is stored; a consumer whose client buffer overflows loses the rest, so \"orders\" can fall short). The rate counts the orders received from the moment the last of the k consumers subscribed.\n\n", r.Sizes.Orders)
	head := []string{"consumers"}
	for _, mr := range r.Modes {
		head = append(head, mr.Mode+" (orders/s)", mr.Mode+" orders")
	}
	m.table(head...)
	for k := 1; k <= r.Sizes.MaxConsumers; k++ {
		cells := []string{fmt.Sprint(k)}
		for _, mr := range r.Modes {
			tp := scalingAt(mr, k)
			cells = append(cells, rate(tp.Rate), fmt.Sprint(tp.Orders))
		}
		m.row(cells...)
	}
	m.printf("\n![throughput against consumers](%s)\n\n", plotScaling)
}

func (m *mdWriter) costs(r Report) {
	m.printf("## Cost per order and memory\n\n")
	m.printf("CPU-seconds (user + system) of the full-rate runs (producer alone; one consumer draining) from the kernel's accounting of each process; their max RSS is the peak resident set (VmHWM) read from /proc every 10 ms; idle RSS read from /proc after start-up with nothing to do.\n\n")
	m.table("service", "mode", "CPU-s per 1,000 orders", "max RSS at full rate (MB)", "< 40 MB", "idle RSS (MB)", "< 20 MB")
	for _, mr := range r.Modes {
		cons := scalingAt(mr, 1)
		m.row("producer", mr.Mode, cpu(mr.Producer.CPUPer1000), mb(mr.Producer.MaxRSSMB), met(mr.Producer.MaxRSSMB, targetLoadedRSSMB, mr.Producer.MaxRSSMB > 0),
			mb(mr.Idle.Producer), met(mr.Idle.Producer, targetIdleRSSMB, mr.Idle.Producer > 0))
		m.row("consumer", mr.Mode, cpu(cons.CPUPer1000), mb(cons.MaxRSSMB), met(cons.MaxRSSMB, targetLoadedRSSMB, cons.MaxRSSMB > 0),
			mb(mr.Idle.Consumer), met(mr.Idle.Consumer, targetIdleRSSMB, mr.Idle.Consumer > 0))
	}
	m.printf("\n")
	m.orderCosts(r)
}

// orderCosts writes the CPU per order of each service beside nats-server's
// over the same interval: the server's share is as large as the service's.
func (m *mdWriter) orderCosts(r Report) {
	m.printf("CPU per order of the service and of nats-server over the same interval, from /proc/<pid>/stat: the producer's whole run (the server's from before it started to its exit); " +
		"the consumer from its start to the drain's last order. In core mode the producer publishes during the consumer's run, so the server's figure there includes taking the orders in.\n\n")
	m.table("service", "mode", "service CPU per order (µs)", "nats-server CPU per order (µs)", "together (µs)")
	for _, mr := range r.Modes {
		for _, s := range []struct {
			name string
			c    OrderCost
		}{{"producer", mr.Producer.Cost}, {"consumer", scalingAt(mr, 1).Cost}} {
			m.row(s.name, mr.Mode, us(s.c.Service), us(s.c.Server), us(s.c.Service+s.c.Server))
		}
	}
	if c := scalingAt(jetStream(r), 1).Cost; !missing(c.Service) {
		m.printf("\nThe exactly-once path (JetStream, one consumer draining stored orders, recording each in the ledger) costs the consumer %s µs and nats-server %s µs of CPU per order.\n", us(c.Service), us(c.Server))
	}
	m.printf("\n")
}

func (m *mdWriter) machine(r Report) {
	s := r.Sizes
	m.printf("## Machine and sizes\n\n")
	m.table("", "")
	m.row("CPU", fmt.Sprintf("%s, %d cores", r.Machine.CPU, r.Machine.Cores))
	m.row("kernel", r.Machine.Kernel)
	m.row("Go", r.Machine.Go)
	m.row("nats-server", r.Machine.NatsServer)
	m.row("natscli", r.Machine.Natscli)
	m.row("load average at start (1, 5, 15 min)", r.Machine.LoadAverage)
	m.row("orders per producer/consumer run", fmt.Sprint(s.Orders))
	m.row("ceiling messages (pub async, consume, core pub / pub sync / kv put)", fmt.Sprintf("%d / %d / %d", s.CeilingOrders, s.SyncOrders, s.KVOrders))
	m.row("each fixed-rate run", s.LatencyFor.String()+" of orders")
	m.row("scaling with work: WORK_TIME, CONCURRENCY, consumers, ideal work per run", fmt.Sprintf("%s, %d, %s, %s", s.Work.WorkTime, s.Work.Concurrency, ints(s.Work.Consumers), s.Work.For))
	m.printf("\n")
}

func (m *mdWriter) goBench(out string) {
	if out == "" {
		return
	}
	m.printf("## In-process benchmarks (`go test -bench`, allocations per order)\n\n```\n%s\n```\n\n", strings.TrimSpace(out))
}

func (m *mdWriter) problems(ps []string) { m.list("Steps that failed", "", ps) }

func (m *mdWriter) warnings(ws []string) {
	m.list("Steps whose services logged warnings", "Their figures include what the warnings report (dropped orders, retries, redeliveries, stalls).", ws)
}

// list writes a section of one bullet per item, nothing without items.
func (m *mdWriter) list(title, intro string, items []string) {
	if len(items) == 0 {
		return
	}
	m.printf("## %s\n\n", title)
	if intro != "" {
		m.printf("%s\n\n", intro)
	}
	for _, it := range items {
		m.printf("- %s\n", it)
	}
	m.printf("\n")
}

// jetStream is the report's JetStream mode, zero when it is missing.
func jetStream(r Report) ModeResult {
	mr, _ := r.mode(modeJetStream)
	return mr
}

// ints lists ns: "1, 2, 4, 8".
func ints(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

// scalingAt is the run with k consumers, zero when it is missing.
func scalingAt(mr ModeResult, k int) Throughput {
	if k < 1 || k > len(mr.Scaling) {
		return Throughput{}
	}
	return mr.Scaling[k-1]
}

const timeRound = 100 * time.Millisecond

func missing(v float64) bool { return v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) }

func rate(v float64) string {
	if missing(v) {
		return "n/a"
	}
	return thousands(int64(math.Round(v)))
}

func percent(v float64) string {
	if missing(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", v*100)
}

// ms formats a latency; 0 ms is a measured value.
func ms(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

// mb, cpu and us format memory and CPU time; 0 means not measured.
func mb(v float64) string  { return positive(v, "%.1f") }
func cpu(v float64) string { return positive(v, "%.3f") }
func us(v float64) string  { return positive(v, "%.1f") }

func positive(v float64, format string) string {
	if missing(v) {
		return "n/a"
	}
	return fmt.Sprintf(format, v)
}

// met says whether v is below limit; "n/a" when v was not measured.
func met(v, limit float64, measured bool) string {
	switch {
	case !measured || math.IsNaN(v):
		return "n/a"
	case v < limit:
		return "met"
	default:
		return "missed"
	}
}

func ratioTarget(row RatioRow) string {
	if row.Target == 0 {
		return ""
	}
	verdict := "n/a"
	if !math.IsNaN(row.Ratio) {
		verdict = map[bool]string{true: "met", false: "missed"}[row.Ratio >= row.Target]
	}
	return fmt.Sprintf("≥ %.0f%%: %s", row.Target*100, verdict)
}

// thousands formats n with comma separators: 12345 → "12,345".
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
