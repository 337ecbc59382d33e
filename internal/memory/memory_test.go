package memory_test

import (
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/memory"
	"github.com/distsys-go/orders/internal/messagingtest"
	"github.com/distsys-go/orders/platform/messaging"
)

func TestConformance(t *testing.T) {
	messagingtest.Run(t, func(t *testing.T, ackWait time.Duration) messagingtest.Setup {
		b := memory.NewBroker(memory.WithAckWait(ackWait))
		return messagingtest.Setup{
			Publisher:     b,
			NewSubscriber: func(*testing.T) messaging.Subscriber { return b.Subscriber("workers", 1) },
			Features:      messagingtest.Features{Redelivery: true, PublishDedup: true, Retains: true},
		}
	})
}
