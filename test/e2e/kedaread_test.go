package e2e

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// kedaTolerance: the two reads are up to a second apart while orders
// arrive at asBurstRate and five replicas work them off.
func kedaTolerance(lag int64) float64 { return 50 + 0.2*float64(lag) }

// kedaReadsLeader decides from one reading whether the lag KEDA served
// (keda) came from the durable's leader: it must agree within
// kedaTolerance with the durable's own lag (num_pending + num_ack_pending,
// asked of the leader), and the reading must be able to tell the leader
// from a follower at all. A follower reports num_pending 0, so its reading
// falls short by pending; while pending is within the tolerance, a
// follower's reading would agree too, and no conclusion is drawn (ok false,
// and why says so).
func kedaReadsLeader(keda float64, lag, pending int64) (ok bool, why string) {
	tol := kedaTolerance(lag)
	if float64(pending) <= tol {
		return false, fmt.Sprintf("cannot tell leader from follower: num_pending %d is within the tolerance %.0f of the lag %d", pending, tol, lag)
	}
	if d := math.Abs(keda - float64(lag)); d > tol {
		return false, fmt.Sprintf("KEDA's lag %.0f is %.0f off the durable's %d (tolerance %.0f): not the leader's", keda, d, lag, tol)
	}
	return true, fmt.Sprintf("KEDA's lag %.0f agrees with the durable's %d (tolerance %.0f)", keda, lag, tol)
}

func TestKEDAReadsLeader(t *testing.T) {
	tests := []struct {
		name          string
		keda          float64
		lag, pending  int64
		want          bool
		whyStartsWith string
	}{
		// The clustered run's figures (docs/autoscaling.md).
		{"the leader's reading after the stepdown", 674, 673, 577, true, "KEDA's lag"},
		{"a follower's reading during the burst", 39, 833, 799, false, "KEDA's lag 39 is"},
		// Lag 60, pending 30: a follower would say 30, within 50 + 12 of
		// 60, so agreement proves nothing; the old check took it.
		{"a follower's reading with too small a lag", 30, 60, 30, false, "cannot tell"},
		{"even the leader's reading with too small a lag", 60, 60, 30, false, "cannot tell"},
		{"nothing pending at all", 0, 0, 0, false, "cannot tell"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := kedaReadsLeader(tc.keda, tc.lag, tc.pending)
			if ok != tc.want || !strings.HasPrefix(why, tc.whyStartsWith) {
				t.Fatalf("kedaReadsLeader(%v, %d, %d) = %v, %q; want %v, %q…", tc.keda, tc.lag, tc.pending, ok, why, tc.want, tc.whyStartsWith)
			}
		})
	}
}
