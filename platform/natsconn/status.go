package natsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrNotConnected is wrapped by Status.Check while the connection cannot
// be used.
var ErrNotConnected = errors.New("nats not connected")

// Status follows a connection's attempts so that /readyz and the logs can
// say why it is not usable: which URLs were tried and how the last attempt
// failed, not only "RECONNECTING".
type Status struct {
	urls     string
	withCA   bool // NATS_CA_FILE is set
	withCert bool // NATS_CERT_FILE is set
	log      *slog.Logger
	nc       atomic.Pointer[nats.Conn]
	attempts atomic.Int64

	mu         sync.Mutex
	lastErr    error
	lastDenial error // the last permissions violation
	deniedAt   time.Time
}

// deniedFor is how long a permissions violation keeps the service
// unready. The server refuses an operation the user may not do every time
// it is tried, so a service whose user lacks a permission it needs keeps
// failing the check; a one-off refusal clears after this long.
const deniedFor = time.Minute

func newStatus(cfg Config, log *slog.Logger) *Status {
	return &Status{urls: Redact(cfg.URL), withCA: cfg.CAFile != "", withCert: cfg.CertFile != "", log: log}
}

// Check returns nil while the connection is connected, else an error
// wrapping ErrNotConnected that names the URLs and the last failure.
func (s *Status) Check() error {
	nc := s.nc.Load()
	if nc == nil {
		return fmt.Errorf("%w: connecting to %s", ErrNotConnected, s.urls)
	}
	st := nc.Status()
	if st == nats.CONNECTED {
		return s.recentDenial()
	}
	s.mu.Lock()
	last := s.lastErr
	s.mu.Unlock()
	if last == nil || st == nats.CLOSED {
		return fmt.Errorf("%w: %s (%s)", ErrNotConnected, strings.ToLower(st.String()), s.urls)
	}
	// No attempt count: nats.go reports every failed dial, but a failed
	// TLS handshake or CONNECT only on the first connect, while it keeps
	// retrying; the last error it reported is what to fix.
	return fmt.Errorf("%w: %s unreachable: %v", ErrNotConnected, s.urls, last)
}

// recentDenial returns the last permissions violation if it happened
// within deniedFor.
func (s *Status) recentDenial() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastDenial == nil || time.Since(s.deniedAt) > deniedFor {
		return nil
	}
	return fmt.Errorf("nats refused an operation %s ago (the NATS user lacks the permission): %w",
		time.Since(s.deniedAt).Round(time.Second), s.lastDenial)
}

// denied records a permissions violation the server reported.
func (s *Status) denied(err error) {
	s.mu.Lock()
	s.lastDenial, s.deniedAt = err, time.Now()
	s.mu.Unlock()
}

// attemptFailed records a failed (re)connect attempt and logs the first,
// then fewer and fewer: attempts 1, 2, 4, 8, … and every 64th after that,
// so a server that stays away for an hour costs a line a minute, not one
// a second.
func (s *Status) attemptFailed(nc *nats.Conn, err error) {
	n := s.attempts.Add(1)
	err = explain(err, s.withCA, s.withCert)
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
	if n&(n-1) == 0 || n%64 == 0 {
		s.log.Warn("nats unreachable; retrying", "url", s.urls, "attempt", n, "retry_in", nc.Opts.ReconnectWait.String(), "error", err)
	}
}

// connected resets the attempt count and returns how many attempts
// failed before this success.
func (s *Status) connected() int64 {
	s.mu.Lock()
	s.lastErr = nil
	s.mu.Unlock()
	return s.attempts.Swap(0)
}

// Redact returns the comma-separated URLs with any password replaced, for
// logs and /readyz.
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			p = u.Redacted()
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}
