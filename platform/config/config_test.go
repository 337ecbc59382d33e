package config_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/platform/config"
)

type spec struct {
	URL     string        `envconfig:"TEST_URL" default:"nats://x" desc:"the url"`
	Timeout time.Duration `envconfig:"TEST_TIMEOUT" default:"2s" desc:"the timeout"`
	Level   slog.Level    `envconfig:"TEST_LEVEL" default:"info" desc:"the level"`
}

type other struct {
	Count int `envconfig:"TEST_COUNT" default:"3" desc:"the count"`
}

func (o *other) Validate() error {
	if o.Count < 0 {
		return fmt.Errorf("TEST_COUNT=%d: must not be negative", o.Count)
	}
	return nil
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantErr   string // substring; "" for success
		wantHelp  bool
		wantCount int
	}{
		{name: "defaults", wantCount: 3},
		{name: "from env", env: map[string]string{"TEST_COUNT": "7"}, wantCount: 7},
		{name: "bad duration names the variable", env: map[string]string{"TEST_TIMEOUT": "soon"}, wantErr: `config: TEST_TIMEOUT="soon": want a duration with a unit, such as 500ms, 30s or 1m30s`},
		{name: "duration without a unit", env: map[string]string{"TEST_TIMEOUT": "5"}, wantErr: `config: TEST_TIMEOUT="5": want a duration`},
		{name: "bad int names the variable", env: map[string]string{"TEST_COUNT": "many"}, wantErr: `config: TEST_COUNT="many": want an integer`},
		{name: "bad level names the variable", env: map[string]string{"TEST_LEVEL": "loud"}, wantErr: `config: TEST_LEVEL="loud": want debug, info, warn or error`},
		{name: "help", args: []string{"-h"}, wantHelp: true},
		{name: "long help", args: []string{"--help"}, wantHelp: true},
		{name: "unknown flag", args: []string{"-port=1"}, wantErr: "environment variables only"},
		{name: "positional argument", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{name: "value that parses but is invalid", env: map[string]string{"TEST_COUNT": "-1"}, wantErr: "config: TEST_COUNT=-1: must not be negative"},
		{name: "check across specs", env: map[string]string{"TEST_COUNT": "9"}, wantErr: "config: TEST_COUNT=9 exceeds TEST_URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var s spec
			var o other
			var out bytes.Buffer
			check := config.Check(func() error {
				if o.Count > len(s.URL) {
					return fmt.Errorf("TEST_COUNT=%d exceeds TEST_URL's length", o.Count)
				}
				return nil
			})
			err := config.Load(tc.args, &out, &s, &o, check)
			switch {
			case tc.wantHelp:
				if !errors.Is(err, config.ErrHelp) {
					t.Fatalf("err %v, want ErrHelp", err)
				}
				for _, want := range []string{"TEST_URL", "nats://x", "the url", "TEST_TIMEOUT", "2s", "TEST_COUNT", "the count"} {
					if !strings.Contains(out.String(), want) {
						t.Errorf("usage lacks %q:\n%s", want, out.String())
					}
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				// One line in the user's words: no parser internals.
				if msg := err.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, "envconfig") || strings.Contains(msg, "strconv") {
					t.Errorf("err %q: want one line without envconfig's or strconv's internals", msg)
				}
			default:
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if o.Count != tc.wantCount || s.URL != "nats://x" || s.Timeout != 2*time.Second {
					t.Errorf("loaded %+v %+v", s, o)
				}
			}
		})
	}
}
