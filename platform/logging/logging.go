// Package logging builds the slog logger every service uses: JSON lines
// for log collectors (the default), or text for a person at a terminal.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Log formats, the values of LOG_FORMAT.
const (
	FormatJSON = "json"
	FormatText = "text"
)

// Config is the logging part of a service's environment.
type Config struct {
	Level  slog.Level `envconfig:"LOG_LEVEL" default:"info" desc:"log level: debug, info, warn or error"`
	Format string     `envconfig:"LOG_FORMAT" default:"json" desc:"json (one object per line, for log collectors and the tests that read logs) or text (key=value lines for a person; make run uses it)"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	switch c.Format {
	case FormatJSON, FormatText:
		return nil
	}
	return fmt.Errorf("LOG_FORMAT=%q: want %q or %q", c.Format, FormatJSON, FormatText)
}

// New returns a logger whose every line carries service and instance,
// so interleaved logs of many replicas stay attributable, and whose lines
// logged with a traced context carry trace_id and span_id.
func New(w io.Writer, cfg Config, service, instance string) *slog.Logger {
	var h slog.Handler
	if cfg.Format == FormatText {
		h = slog.NewTextHandler(w, &slog.HandlerOptions{Level: cfg.Level, ReplaceAttr: clockTime})
	} else {
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: cfg.Level})
	}
	return slog.New(traceHandler{h}).With("service", service, "instance", instance)
}

// clockTime shortens a text line's time to the time of day: a person
// reading a terminal knows the date.
func clockTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.String(slog.TimeKey, a.Value.Time().Format(time.TimeOnly+".000"))
	}
	return a
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
