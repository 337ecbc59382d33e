package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// Roles of a step's processes, as its CPU is split.
const (
	roleServer    = "nats-server"
	roleConsumers = "consumers"
	roleProducer  = "producer"
)

// cpuSample is the CPU time of a step's processes, and the machine's, at
// one moment: two of them bound an interval.
type cpuSample struct {
	at      time.Time
	byRole  map[string]time.Duration
	harness time.Duration // this program's own, reading the logs
	// wait is how long the threads of the server and the consumers have
	// waited for a core (run queues); the producer, which may end within
	// the interval, is left out.
	wait    time.Duration
	machine machineCPU
}

// sample reads the CPU time of the session's server and of procs (nil
// entries are skipped: a producer not started), the harness's and the
// machine's.
func (s *session) sample(procs ...*testkit.Proc) cpuSample {
	c := cpuSample{byRole: map[string]time.Duration{}}
	for _, p := range append([]*testkit.Proc{s.server}, procs...) {
		if p == nil {
			continue
		}
		role := roleOf(p.Name)
		c.byRole[role] += p.CPUTime(s.t)
		if role != roleProducer {
			c.wait += p.RunQueueWait(s.t)
		}
	}
	m, err := readMachineCPU()
	if err != nil {
		s.t.Fatalf("machine CPU: %v", err)
	}
	c.machine, c.harness, c.at = m, harnessCPU(), time.Now()
	return c
}

// harnessCPU is this process's own CPU time so far.
func harnessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// roleOf maps a process name (producer, consumer-3, nats-server) to its
// role.
func roleOf(name string) string {
	switch {
	case strings.HasPrefix(name, "consumer"):
		return roleConsumers
	case name == roleProducer:
		return roleProducer
	}
	return roleServer
}

// spent is the CPU a role used from a to b; a process started after a
// counts from its start.
func spent(a, b cpuSample, role string) time.Duration { return b.byRole[role] - a.byRole[role] }

// OrderCost is CPU per order in microseconds: the run's services (the
// producer, or the consumers) and nats-server, over the same interval.
type OrderCost struct{ Service, Server float64 }

// costOver divides what role and the server spent from a to b among n
// orders; NaN for no orders.
func costOver(a, b cpuSample, role string, n int) OrderCost {
	per := func(d time.Duration) float64 {
		if n <= 0 {
			return math.NaN()
		}
		return float64(d.Microseconds()) / float64(n)
	}
	return OrderCost{Service: per(spent(a, b, role)), Server: per(spent(a, b, roleServer))}
}

// CPUShare is where an interval's CPU went, each a share of cores ×
// elapsed: 1 is every core busy the whole time.
type CPUShare struct {
	Server, Consumers, Producer float64 // the step's own processes
	Harness                     float64 // this program, reading their logs
	// Machine is every process of the machine (the kernel's /proc/stat),
	// other work included; IRQ and Steal are parts of it no process is
	// charged with: interrupt work and time the hypervisor took.
	Machine, IRQ, Steal float64
	Elapsed             time.Duration
	// Wait is how long the server's and the consumers' threads waited
	// for a core over the interval, summed over threads.
	Wait time.Duration
}

// Ours is the share of the step's own processes together.
func (c CPUShare) Ours() float64 { return c.Server + c.Consumers + c.Producer }

// shareOver is the CPU shares from a to b on this machine's cores.
func shareOver(a, b cpuSample) CPUShare {
	elapsed := b.at.Sub(a.at)
	of := func(role string) float64 {
		return spent(a, b, role).Seconds() / (elapsed.Seconds() * float64(runtime.NumCPU()))
	}
	return CPUShare{
		Server: of(roleServer), Consumers: of(roleConsumers), Producer: of(roleProducer),
		Harness: (b.harness - a.harness).Seconds() / (elapsed.Seconds() * float64(runtime.NumCPU())),
		Machine: b.machine.shareSince(a.machine, func(m machineCPU) uint64 { return m.busy }),
		IRQ:     b.machine.shareSince(a.machine, func(m machineCPU) uint64 { return m.irq }),
		Steal:   b.machine.shareSince(a.machine, func(m machineCPU) uint64 { return m.steal }),
		Elapsed: elapsed, Wait: b.wait - a.wait,
	}
}

// machineCPU is the first line of /proc/stat: all cores' time in ticks,
// how much of it was busy (neither idle nor waiting for I/O), and two parts
// of that no process is charged with: interrupts (loopback networking runs
// as softirqs) and steal (the hypervisor running something else).
type machineCPU struct{ busy, irq, steal, total uint64 }

// shareSince is the share of the cores' time from earlier to m that
// pick counts, NaN when no time passed.
func (m machineCPU) shareSince(earlier machineCPU, pick func(machineCPU) uint64) float64 {
	if m.total <= earlier.total {
		return math.NaN()
	}
	return float64(pick(m)-pick(earlier)) / float64(m.total-earlier.total)
}

func readMachineCPU() (machineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, err
	}
	return parseProcStat(string(b))
}

// parseProcStat reads the "cpu" line of a /proc/stat text: user nice
// system idle iowait irq softirq steal (guest time is inside user).
func parseProcStat(stat string) (machineCPU, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machineCPU{}, fmt.Errorf("/proc/stat: first line %q is not the cpu total", line)
	}
	var m machineCPU
	for i, s := range f[1:9] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return machineCPU{}, fmt.Errorf("/proc/stat: %w", err)
		}
		m.total += n
		switch i {
		case 3, 4: // idle, iowait
			continue
		case 5, 6: // irq, softirq
			m.irq += n
		case 7:
			m.steal += n
		}
		m.busy += n
	}
	return m, nil
}
