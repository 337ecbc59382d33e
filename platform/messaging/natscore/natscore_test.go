package natscore_test

import (
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/messagingtest"
	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/natscore"
)

// The suite flushes a Flusher after each publish; core NATS needs it, as
// Publish only buffers.
var _ messagingtest.Flusher = (*natscore.Publisher)(nil)

func TestConformance(t *testing.T) {
	// Core NATS has no acknowledgements, so no ack wait either.
	messagingtest.Run(t, func(t *testing.T, _ time.Duration) messagingtest.Setup {
		srv := natstest.Run(t)
		return messagingtest.Setup{
			Publisher: natscore.NewPublisher(srv.Connect(t)),
			NewSubscriber: func(t *testing.T) messaging.Subscriber {
				return natscore.NewSubscriber(srv.Connect(t), "workers")
			},
		}
	})
}
