package audit

import (
	"testing"
	"time"
)

func TestParseNewLeader(t *testing.T) {
	at := time.Date(2026, 12, 5, 1, 2, 3, 123456000, time.UTC)
	for _, tc := range []struct {
		line string
		want NewLeader
		ok   bool
	}{
		{"[7] 2026/12/05 01:02:03.123456 [INF] JetStream cluster new stream leader for '$G > ORDERS'\n",
			NewLeader{At: at, Kind: "stream", Asset: "$G > ORDERS"}, true},
		{"[7] 2026/12/05 01:02:03.123456 [INF] JetStream cluster new consumer leader for '$G > ORDERS > fulfilment-workers'",
			NewLeader{At: at, Kind: "consumer", Asset: "$G > ORDERS > fulfilment-workers"}, true},
		{"[7] 2026/12/05 01:02:03.123456 [INF] JetStream cluster new metadata leader: n1/chaos", NewLeader{}, false},
		{`{"msg":"published order"}`, NewLeader{}, false},
	} {
		got, ok := ParseNewLeader(tc.line, time.UTC)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}
