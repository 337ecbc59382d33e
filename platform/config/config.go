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

// Load fills spec from the environment. With -h or --help in args it prints
// every variable spec reads, with its default and description, to out and
// returns ErrHelp. Any other argument is an error: settings come only from
// the environment. The error of a bad value names the variable.
func Load(args []string, spec any, out io.Writer) error {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return printUsage(spec, out)
		}
		return fmt.Errorf("settings come from environment variables only (see -h): %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: settings come from environment variables only (see -h)", fs.Arg(0))
	}
	if err := envconfig.Process("", spec); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// printUsage writes envconfig's table of variables, aligned.
func printUsage(spec any, out io.Writer) error {
	fmt.Fprintln(out, "Configured by environment variables only.")
	tw := tabwriter.NewWriter(out, 1, 0, 4, ' ', 0)
	if err := envconfig.Usagef("", spec, tw, envconfig.DefaultTableFormat); err != nil {
		return fmt.Errorf("print usage: %w", err)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print usage: %w", err)
	}
	return ErrHelp
}
