package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// errNoPorts: the server's ports file does not name a client URL (yet).
var errNoPorts = errors.New("no client URL in the ports file")

// startServer starts bin, a nats-server with JetStream on a file store in
// a temporary directory of its own and a port it picks itself, and waits
// until it listens. The server writes its ports file once its client
// listener is up, which is both the random port's address and the
// readiness signal. The step's end kills it and removes the store. The
// process is returned for its CPU time.
func startServer(t *step, bin string) (url string, server *testkit.Proc) {
	dir, err := os.MkdirTemp("", "orders-bench-")
	if err != nil {
		t.Fatalf("nats-server store: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p := testkit.Start(t, bin, os.Environ(), testkit.Args(
		"-js", "-sd", filepath.Join(dir, "store"), "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir))
	testkit.Eventually(t, "nats-server ports file", 10*time.Second, func() (bool, string) {
		url, err = readPortsFile(dir)
		return err == nil, fmt.Sprintf("%v; stderr: %s", err, stderrTail(p))
	})
	return url, p
}

// readPortsFile returns the client URL from the *.ports file in dir.
func readPortsFile(dir string) (string, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.ports"))
	if len(files) == 0 {
		return "", errNoPorts
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		return "", err
	}
	return parsePorts(b)
}

// parsePorts reads a nats-server ports file: {"nats":["nats://host:port"],...}.
func parsePorts(b []byte) (string, error) {
	var ports struct {
		Nats []string `json:"nats"`
	}
	if err := json.Unmarshal(b, &ports); err != nil {
		return "", fmt.Errorf("ports file: %w", err)
	}
	if len(ports.Nats) == 0 {
		return "", errNoPorts
	}
	return ports.Nats[0], nil
}
