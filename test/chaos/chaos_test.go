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
	run  func(t *faultT, b bins, row *row)
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
			t.Run(f.name, func(tt *testing.T) {
				tt.Parallel()
				t := &faultT{T: tt}
				row.ran = true
				defer func() { row.failed, row.why = t.Failed(), t.failures() }()
				f.run(t, b, row)
			})
		}
	})
	fmt.Print(rep.table())
	fmt.Print(rep.failoverTable())
	fmt.Print(rep.failures())
}
