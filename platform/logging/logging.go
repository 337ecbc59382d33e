// Package logging builds the JSON slog logger every service uses.
package logging

import (
	"fmt"
	"io"
	"log/slog"
)

// Config is the logging part of a service's environment.
type Config struct {
	Level slog.Level `envconfig:"LOG_LEVEL" default:"info" desc:"log level: debug, info, warn or error"`
}

// New returns a JSON logger whose every line carries service and instance,
// so interleaved logs of many replicas stay attributable, and whose lines
// logged with a traced context carry trace_id and span_id.
func New(w io.Writer, cfg Config, service, instance string) *slog.Logger {
	h := traceHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: cfg.Level})}
	return slog.New(h).With("service", service, "instance", instance)
}

// Instance returns name, or the host name when name is empty (the pod name
// on Kubernetes).
func Instance(name string, hostname func() (string, error)) (string, error) {
	if name != "" {
		return name, nil
	}
	h, err := hostname()
	if err != nil {
		return "", fmt.Errorf("instance name: %w", err)
	}
	return h, nil
}
