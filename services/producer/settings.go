package main

import "time"

// settings are the producer's own variables (see -h for all of them).
type settings struct {
	Interval       time.Duration `envconfig:"PUBLISH_INTERVAL" default:"2s" desc:"pause between orders; 0 publishes as fast as the server acknowledges"`
	Rate           float64       `envconfig:"PUBLISH_RATE" default:"0" desc:"orders per second; when > 0 it replaces PUBLISH_INTERVAL"`
	Count          int           `envconfig:"PUBLISH_COUNT" default:"0" desc:"publish this many orders, then exit 0; 0 publishes until stopped"`
	PublishTimeout time.Duration `envconfig:"PUBLISH_TIMEOUT" default:"5s" desc:"how long one publish attempt waits for the server's acknowledgement before it is retried"`
	ProductIDs     []string      `envconfig:"PRODUCT_IDS" default:"sku-apple,sku-pear,sku-plum,sku-fig" desc:"products orders are drawn from, comma-separated"`
	VerifyTimeout  time.Duration `envconfig:"VERIFY_TIMEOUT" default:"0s" desc:"when > 0: after PUBLISH_COUNT orders, wait this long for the consumers to record every one, exit 1 if they did not (the helm test)"`
	DedupBucket    string        `envconfig:"DEDUP_BUCKET" default:"orders-processed" desc:"the consumers' processed-orders bucket that VERIFY_TIMEOUT checks"`
}
