// Package config reads a service's settings from the environment with
// envconfig, the only place settings come from.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
)

// ErrHelp is returned by Load when the user asked for -h; the variables
// were printed.
var ErrHelp = errors.New("help requested")

// Validator is a spec that checks its own values once they are loaded, so
// a value that parses but cannot work (a negative size, an empty URL)
// stops the service before it starts anything. The error names the
// variable.
type Validator interface {
	Validate() error
}

// Check is a rule across several specs (a subject the stream must
// capture, a limit one spec must keep below another's). Pass it to Load
// among the specs: it runs after every spec loaded and validated.
type Check func() error

// Load fills each spec from the environment. A service's settings are
// several specs (its own, the NATS connection's, the HTTP listener's, …)
// so that each platform package owns the variables it reads.
//
// With -h or --help in args it prints every variable, with its type,
// default and description, to out and returns ErrHelp. Any other argument
// is an error: settings come only from the environment. A spec that is a
// Validator is validated once loaded; Checks among the specs run last.
// The error of a bad value names the variable.
func Load(args []string, out io.Writer, specs ...any) error {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			if err := PrintUsage(out, specs...); err != nil {
				return err
			}
			return ErrHelp
		}
		return fmt.Errorf("settings come from environment variables only (see -h): %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: settings come from environment variables only (see -h)", fs.Arg(0))
	}
	var checks []Check
	for _, spec := range specs {
		if c, ok := spec.(Check); ok {
			checks = append(checks, c)
			continue
		}
		if err := envconfig.Process("", spec); err != nil {
			return fmt.Errorf("config: %w", parseError(err))
		}
		if v, ok := spec.(Validator); ok {
			if err := v.Validate(); err != nil {
				return fmt.Errorf("config: %w", err)
			}
		}
	}
	for _, c := range checks {
		if err := c(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	return nil
}

// PrintUsage writes one aligned table of every variable the specs read.
func PrintUsage(out io.Writer, specs ...any) error {
	fmt.Fprintln(out, "Configured by environment variables only:")
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 1, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTYPE\tDEFAULT\tDESCRIPTION")
	for _, spec := range specs {
		if _, ok := spec.(Check); ok {
			continue
		}
		if err := envconfig.Usagef("", spec, tw, rowFormat); err != nil {
			return fmt.Errorf("print usage: %w", err)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print usage: %w", err)
	}
	return nil
}

const rowFormat = `{{range .}}{{usage_key .}}	{{usage_type .}}	{{usage_default .}}	{{usage_description .}}
{{end}}`
