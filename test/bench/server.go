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

// Server is a nats-server process with JetStream on a file store in its
// own temporary directory, on a port the server picked itself.
type Server struct {
	URL  string
	proc *Proc
	dir  string
}

// StartServer starts bin and waits until it listens. The server writes
// its ports file once its client listener is up, which is both the
// random port's address and the readiness signal.
func StartServer(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "orders-bench-")
	if err != nil {
		return nil, fmt.Errorf("nats-server store: %w", err)
	}
	p, err := StartProc("nats-server", bin, os.Environ(),
		"-js", "-sd", filepath.Join(dir, "store"), "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{proc: p, dir: dir}
	err = testkit.Await(stderrLog{}, "nats-server ports file", 10*time.Second, func() (bool, string) {
		var err error
		s.URL, err = readPortsFile(dir)
		return err == nil, fmt.Sprint(err)
	})
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w: %s", err, p.stderrTail())
	}
	return s, nil
}

// Stop ends the server and removes its store.
func (s *Server) Stop() {
	if _, err := s.proc.Stop(10 * time.Second); err != nil {
		s.proc.Kill()
	}
	_ = os.RemoveAll(s.dir)
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
