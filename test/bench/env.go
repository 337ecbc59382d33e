package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// Bins are the binaries the harness runs.
type Bins struct {
	Server, Nats, Producer, Consumer string
}

// binsIn returns the binaries in dir (./bin, where make puts them).
func binsIn(dir string) (Bins, error) {
	b := Bins{
		Server:   filepath.Join(dir, "nats-server"),
		Nats:     filepath.Join(dir, "nats"),
		Producer: filepath.Join(dir, "producer"),
		Consumer: filepath.Join(dir, "consumer"),
	}
	for _, p := range []string{b.Server, b.Nats, b.Producer, b.Consumer} {
		if _, err := os.Stat(p); err != nil {
			return Bins{}, fmt.Errorf("binary missing (make build tools): %w", err)
		}
	}
	return b, nil
}

// serviceEnv is the caller's environment with the harness's settings on
// top (exec uses the last value of a repeated key), so a setting the
// caller exports that the harness does not set reaches the binaries, and
// one a binary does not know is ignored by it.
func serviceEnv(url, mode, instance string, extra ...string) []string {
	env := append(os.Environ(),
		"NATS_URL="+url,
		"DELIVERY_MODE="+mode,
		"INSTANCE="+instance,
		"LOG_LEVEL=info",
		"HTTP_ADDR=127.0.0.1:0",
	)
	return append(env, extra...)
}
