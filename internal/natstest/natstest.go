// Package natstest runs a real nats-server in-process for tests: random
// port, JetStream on, its store in the test's temporary folder.
package natstest

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Server is a running in-process nats-server.
type Server struct {
	*server.Server
	opts *server.Options
}

// Run starts a server with JetStream and stops it when t ends.
func Run(t testing.TB) *Server {
	t.Helper()
	return RunWith(t, nil)
}

// RunWith is Run with the options adjusted by configure first (TLS,
// users and their permissions, say).
func RunWith(t testing.TB, configure func(*server.Options)) *Server {
	t.Helper()
	opts := options(t)
	if configure != nil {
		configure(opts)
	}
	s := &Server{opts: opts}
	s.start(t)
	// Later starts reuse the port, as a restarted pod keeps its address.
	opts.Port = s.Addr().(*net.TCPAddr).Port
	return s
}

// options are a server's: loopback, random port, JetStream stored in the
// test's temporary folder.
func options(t testing.TB) *server.Options {
	return &server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		NoLog:     true,
		NoSigs:    true,
		JetStream: true,
		StoreDir:  t.TempDir(),
	}
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	// The server keeps the options it gets and reads them while it runs:
	// give it a copy, so Run and RunCluster may set the ports for later
	// starts.
	srv, err := server.NewServer(s.opts.Clone())
	if err != nil {
		t.Fatalf("new nats server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready for connections")
	}
	s.Server = srv
	t.Cleanup(srv.Shutdown)
}

// Restart stops the server and starts it again on the same port and store,
// so clients reconnect and JetStream state survives.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Shutdown()
	s.WaitForShutdown()
	s.start(t)
}

// Connect returns a client connection closed when t ends.
func (s *Server) Connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for a
// server a test starts as a separate process (the nats-server binary, a
// service's HTTP_ADDR) and so cannot ask for port 0.
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// FreePorts returns n distinct such ports. It holds every listener open
// until it has all n: ports asked for one at a time can repeat, since a
// closed port is free to be handed out again at once.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}
