// Command producer publishes order events to NATS: on an interval, at a
// rate, or a fixed count and then exits. Configure it with environment
// variables; -h lists them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/distsys-go/orders/platform/service"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

const name = "producer"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, version)
	stop()
	os.Exit(service.ExitCode(name, err, os.Stderr))
}
