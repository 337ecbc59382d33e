package natsmsg_test

import (
	"maps"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/internal/natsmsg"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		msg    *messaging.Message
		header map[string]string // what FromHeader returns
	}{
		{"id and headers", &messaging.Message{Subject: "orders.created", ID: "order-1", Header: map[string]string{"Reason": "bad"}, Data: []byte("x")},
			map[string]string{"Reason": "bad", nats.MsgIdHdr: "order-1"}},
		{"lower-case names kept", &messaging.Message{Subject: "orders.created.v2", ID: "order-3", Header: map[string]string{"ce-type": "t", "content-type": "application/json"}},
			map[string]string{"ce-type": "t", "content-type": "application/json", nats.MsgIdHdr: "order-3"}},
		{"id only", messaging.NewMessage("orders.created", "order-2", []byte("y")), map[string]string{nats.MsgIdHdr: "order-2"}},
		{"neither", messaging.NewMessage("orders.created", "", []byte("z")), nil},
	}
	for _, tc := range tests {
		m := natsmsg.ToNATS(tc.msg)
		if m.Subject != tc.msg.Subject || string(m.Data) != string(tc.msg.Data) {
			t.Errorf("%s: subject %q data %q, want %q %q", tc.name, m.Subject, m.Data, tc.msg.Subject, tc.msg.Data)
		}
		header, id := natsmsg.FromHeader(m.Header)
		if id != tc.msg.ID || !maps.Equal(header, tc.header) {
			t.Errorf("%s: back to id %q header %v, want %q %v", tc.name, id, header, tc.msg.ID, tc.header)
		}
		d := natsmsg.Delivery(m.Subject, m.Header, m.Data, 2, nil)
		if d.ID != tc.msg.ID || d.Deliveries != 2 || d.Subject != tc.msg.Subject {
			t.Errorf("%s: delivery id %q deliveries %d subject %q", tc.name, d.ID, d.Deliveries, d.Subject)
		}
	}
}
