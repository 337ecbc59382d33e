// Command producer publishes order events to NATS: on an interval, at a
// rate, or a fixed count and then exits. Configure it with environment
// variables; -h lists them.
package main

import "github.com/distsys-go/orders/platform/service"

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

const name = "producer"

func main() { service.Main(name, version, run) }
