package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/service"
)

// maxInFlight bounds PUBLISH_MAX_IN_FLIGHT: it is as many asynchronous
// publishes as the NATS client keeps pending by default, beyond which it
// would stall publishes itself.
const maxInFlight = 4000

// settings are the producer's own variables (see -h for all of them).
type settings struct {
	Interval       time.Duration `envconfig:"PUBLISH_INTERVAL" default:"2s" desc:"pause between orders; 0 publishes as fast as the server acknowledges"`
	Rate           float64       `envconfig:"PUBLISH_RATE" default:"0" desc:"orders per second; when > 0 it replaces PUBLISH_INTERVAL"`
	Count          int           `envconfig:"PUBLISH_COUNT" default:"0" desc:"publish this many orders, then exit 0; 0 publishes until stopped"`
	MaxInFlight    int           `envconfig:"PUBLISH_MAX_IN_FLIGHT" default:"1024" desc:"orders sent and awaiting the server's acknowledgement at once (1 to 4000); 1 waits for each before sending the next, which caps publishing at one order per round trip"`
	PublishTimeout time.Duration `envconfig:"PUBLISH_TIMEOUT" default:"5s" desc:"how long one publish attempt waits for the server's acknowledgement before it is retried"`
	ProductIDs     []string      `envconfig:"PRODUCT_IDS" default:"sku-apple,sku-pear,sku-plum,sku-fig" desc:"products orders are drawn from, comma-separated"`
	// Version picks the event and its subject; consumers that read it
	// must run first (docs/events.md).
	Version       string        `envconfig:"EVENT_VERSION" default:"v1" desc:"event version published: v1 (one product, on SUBJECT) or v2 (priced lines, on SUBJECT.v2); roll out consumers that read a version before producers send it"`
	Currency      string        `envconfig:"ORDER_CURRENCY" default:"EUR" desc:"ISO 4217 currency of the prices of v2 orders"`
	VerifyTimeout time.Duration `envconfig:"VERIFY_TIMEOUT" default:"0s" desc:"when > 0: after PUBLISH_COUNT orders, wait this long for the consumers to record every one, exit 1 if they did not (the helm test)"`
}

// Validate implements config.Validator.
func (s settings) Validate() error {
	switch {
	case s.Rate < 0:
		return fmt.Errorf("PUBLISH_RATE=%v: must not be negative", s.Rate)
	case s.Interval < 0:
		return fmt.Errorf("PUBLISH_INTERVAL=%s: must not be negative", s.Interval)
	case s.Count < 0:
		return fmt.Errorf("PUBLISH_COUNT=%d: must not be negative", s.Count)
	case s.MaxInFlight < 1 || s.MaxInFlight > maxInFlight:
		return fmt.Errorf("PUBLISH_MAX_IN_FLIGHT=%d: want 1 to %d", s.MaxInFlight, maxInFlight)
	case s.PublishTimeout <= 0:
		return fmt.Errorf("PUBLISH_TIMEOUT=%s: must be positive", s.PublishTimeout)
	case len(s.ProductIDs) == 0:
		return errors.New("PRODUCT_IDS: at least one product is needed")
	case s.VerifyTimeout < 0:
		return fmt.Errorf("VERIFY_TIMEOUT=%s: must not be negative", s.VerifyTimeout)
	case s.VerifyTimeout > 0 && s.Count == 0:
		return errors.New("VERIFY_TIMEOUT needs PUBLISH_COUNT > 0")
	}
	if _, err := events.LookupVersion(s.Version); err != nil {
		return fmt.Errorf("EVENT_VERSION=%q: %w", s.Version, err)
	}
	if !events.IsCurrency(s.Currency) {
		return fmt.Errorf("ORDER_CURRENCY=%q: want three capital letters (ISO 4217)", s.Currency)
	}
	for _, p := range s.ProductIDs {
		if p == "" {
			return fmt.Errorf("PRODUCT_IDS=%q: an empty product id", s.ProductIDs)
		}
	}
	return nil
}

// config is the producer's environment: -h lists every variable.
type config struct {
	service.Env
	Publish settings
	// Ledger is the consumers' bucket, which VERIFY_TIMEOUT reads.
	Ledger ledger.Bucket
}

// version is EVENT_VERSION's (checked by Validate).
func (c config) version() events.Version {
	v, _ := events.LookupVersion(c.Publish.Version)
	return v
}

// Validate implements service.Config: the stream must capture the
// subject of the version published.
func (c config) Validate() error {
	v := c.version()
	if c.Delivers("SUBJECT", v.Subject(c.Subject)) != nil {
		return fmt.Errorf("EVENT_VERSION=%s publishes on %s, which STREAM_SUBJECTS=%s does not capture",
			v.Name, v.Subject(c.Subject), strings.Join(c.StreamConfig.Subjects, ","))
	}
	return nil
}
