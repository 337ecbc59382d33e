package audit

import (
	"regexp"
	"time"
)

// leaderLine is what a nats-server logs when it becomes the leader of a
// stream or a consumer: "[7] 2026/12/05 01:02:03.123456 [INF] JetStream
// cluster new stream leader for '$G > ORDERS'".
var leaderLine = regexp.MustCompile(`^\[\d+\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) \[INF\] JetStream cluster new (stream|consumer) leader for '([^']+)'`)

// serverLogTime is nats-server's log time layout.
const serverLogTime = "2006/01/02 15:04:05.000000"

// NewLeader is a server's own word that it leads a stream or consumer.
type NewLeader struct {
	At    time.Time
	Kind  string // "stream" or "consumer"
	Asset string // "<account> > <stream>[ > <consumer>]"
}

// ParseNewLeader reads line as a nats-server log line announcing a new
// leader, its time in loc (the zone the server logs in); false for any
// other line.
func ParseNewLeader(line string, loc *time.Location) (NewLeader, bool) {
	m := leaderLine.FindStringSubmatch(line)
	if m == nil {
		return NewLeader{}, false
	}
	at, err := time.ParseInLocation(serverLogTime, m[1], loc)
	if err != nil {
		return NewLeader{}, false
	}
	return NewLeader{At: at, Kind: m[2], Asset: m[3]}, true
}
