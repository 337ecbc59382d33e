// Package natsmsg maps messaging.Message to and from nats.Msg, the one
// mapping both NATS transports (natscore, jetstream) share, so that a
// header or id convention cannot differ between them.
package natsmsg

import (
	"github.com/nats-io/nats.go"

	"github.com/distsys-go/orders/platform/messaging"
)

// ToNATS converts msg to a NATS message, its ID in the Nats-Msg-Id header
// (which JetStream de-duplicates on; core NATS just carries it). Header
// names go out as written: NATS headers are case-sensitive, and
// CloudEvents' are lower case (ce-type), which nats.Header.Set would
// turn into Ce-Type.
func ToNATS(msg *messaging.Message) *nats.Msg {
	m := nats.NewMsg(msg.Subject)
	m.Data = msg.Data
	// One backing array for every header's value: a slice per header
	// would be an allocation each, on every message.
	values := make([]string, 0, len(msg.Header))
	for k, v := range msg.Header {
		values = append(values, v)
		m.Header[k] = values[len(values)-1 : len(values) : len(values)]
	}
	if msg.ID != "" {
		m.Header.Set(nats.MsgIdHdr, msg.ID)
	}
	return m
}

// FromHeader flattens h to one value per key and returns it with the
// message id (the Nats-Msg-Id header).
func FromHeader(h nats.Header) (header map[string]string, id string) {
	if len(h) == 0 {
		return nil, ""
	}
	header = make(map[string]string, len(h))
	for k, vs := range h {
		// Not h.Get(k): it would look up k's canonical form.
		if len(vs) > 0 {
			header[k] = vs[0]
		}
	}
	return header, header[nats.MsgIdHdr]
}

// Delivery returns the delivered message with subject, NATS headers h and
// data, settled through s.
func Delivery(subject string, h nats.Header, data []byte, deliveries uint64, s messaging.Settler) *messaging.Message {
	header, id := FromHeader(h)
	return messaging.NewDelivery(subject, id, header, data, deliveries, s)
}
