package audit

import "github.com/distsys-go/orders/internal/testkit"

// PublishedIDs are the order ids the producers logged as published: each
// one acknowledged by the server. It is the audit's outside record of what
// was published, kept by the producers rather than by the stream.
func PublishedIDs(producers ...*testkit.Proc) []string {
	var ids []string
	for _, p := range producers {
		for _, r := range p.Logged("published order") {
			ids = append(ids, r.String("order_id"))
		}
	}
	return ids
}

// ProcessedBy maps each order id in the consumers' "received order" log
// lines to the instances that logged it: an order processed twice shows
// two entries.
func ProcessedBy(consumers ...*testkit.Proc) map[string][]string {
	out := map[string][]string{}
	for _, p := range consumers {
		for _, r := range p.Logged("received order") {
			id := r.String("order_id")
			out[id] = append(out[id], r.String("instance"))
		}
	}
	return out
}
