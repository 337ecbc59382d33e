// Command consumer is the fulfilment worker: it takes order events from
// NATS as one of many replicas sharing the work, records each order once,
// and dead-letters what it cannot read. Configure it with environment
// variables; -h lists them.
package main

import "github.com/distsys-go/orders/platform/service"

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

const name = "consumer"

func main() { service.Main(name, version, run, commands...) }
