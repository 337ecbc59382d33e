//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/test/audit"
)

// badInput: while good orders flow, every kind of bad message a careless or
// hostile publisher could send; each must be dead-lettered exactly once and
// none may stop the good orders.
func badInput(t *faultT, b bins, row *row) {
	r := newRig(t, b, 1)
	r.consumer("c1", "")
	r.consumer("c2", "")
	r.producer("p1")
	r.waitRecorded(20)

	nc, err := nats.Connect(r.nodes[0].url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var bad []audit.Sent
	for _, body := range badMessages(int(nc.MaxPayload())) {
		ack, err := js.Publish(ctx, r.names.Orders, body)
		if err != nil {
			t.Fatalf("publish bad message %.40q (%d bytes): %v", body, len(body), err)
		}
		bad = append(bad, audit.Sent{Body: body, Seq: ack.Sequence})
	}
	r.healed(row, time.Now())
	r.audit(row, bad, false)
}

// badMessages are distinct bad bodies; maxPayload is the server's limit,
// which the largest one reaches exactly.
func badMessages(maxPayload int) [][]byte {
	order := func(fields string) []byte {
		return []byte(`{` + fields + `}`)
	}
	const created = `"created_at":"2026-11-25T08:00:00Z"`
	withID := func(id string) []byte {
		return order(fmt.Sprintf(`"id":%q,"product_id":"sku-1","quantity":1,`, id) + created)
	}
	nested := func(depth int) []byte {
		return []byte(`{"id":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	return [][]byte{
		random(16), random(300), random(5000),
		[]byte(`{"id": "bad-trunc",`), []byte(`not json at all`), []byte(`{"id":"bad-comma" "product_id":"sku-1"}`),
		order(`"id":"bad-qty-type","product_id":"sku-1","quantity":"two",` + created),
		order(`"id":"bad-product-type","product_id":7,"quantity":1,` + created),
		order(`"id":42,"product_id":"sku-1","quantity":1,` + created),
		order(`"id":"bad-created-type","product_id":"sku-1","quantity":1,"created_at":5`),
		order(`"product_id":"sku-1","quantity":1,` + created),
		order(`"id":"bad-no-product","quantity":1,` + created),
		order(`"id":"bad-no-quantity","product_id":"sku-1",` + created),
		order(`"id":"bad-no-created","product_id":"sku-1","quantity":1`),
		order(`"id":"bad-qty-0","product_id":"sku-1","quantity":0,` + created),
		order(`"id":"bad-qty-neg","product_id":"sku-1","quantity":-1,` + created),
		order(`"id":"bad-qty-1001","product_id":"sku-1","quantity":1001,` + created),
		order(`"id":"bad-qty-huge","product_id":"sku-1","quantity":9223372036854775807,` + created),
		withID("bad.dot"), withID("bad*star"), withID("bad>gt"), withID("bad space"), withID("bad-ünïcode-✓"),
		withID(strings.Repeat("x", 70)),
		nested(5000),  // decodes to the wrong type
		nested(20000), // deeper than the JSON decoder goes
		{},            // an empty body
		append([]byte(`{"id":"bad-at-limit","pad":"`), append([]byte(strings.Repeat("x", maxPayload-len(`{"id":"bad-at-limit","pad":""}`))), `"}`...)...),
	}
}
