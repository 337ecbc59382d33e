//go:build chaos

package chaos

import (
	"fmt"
	"testing"
)

// fault is one fault scenario: it builds its own pipeline on its own NATS
// servers, so faults run side by side without touching each other.
type fault struct {
	name string
	run  func(t *testing.T, b bins, row *row)
}

func TestChaos(t *testing.T) {
	b := findBins(t)
	faults := []fault{
		{"kill storm: consumers and producer SIGKILLed", killStorm},
		{"NATS SIGKILLed, restarted on its store", natsCrash},
		{"consumer SIGSTOPped for two ack waits", frozenConsumer},
		{"cluster: stream, durable, ledger leaders SIGKILLed", clusterLeaders},
		{"consumer partitioned from NATS 20s, then 50ms latency", partition},
		{"bad-input storm while orders flow", badInput},
	}
	var rep report
	t.Run("faults", func(t *testing.T) {
		for _, f := range faults {
			row := rep.add(f.name)
			t.Run(f.name, func(t *testing.T) {
				t.Parallel()
				row.ran = true
				defer func() { row.failed = t.Failed() }()
				f.run(t, b, row)
			})
		}
	})
	fmt.Print(rep.table())
	fmt.Print(rep.failoverTable())
}
