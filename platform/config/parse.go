package config

import (
	"errors"
	"fmt"

	"github.com/kelseyhightower/envconfig"
)

// expected says, per Go type of a setting, what a value must look like.
// envconfig's own message names the struct field and the parser's
// internals; users set variables, so they get the variable, the value and
// this.
func expected(typeName string) (string, bool) {
	switch typeName {
	case "int", "int64":
		return "an integer", true
	case "uint", "uint64":
		return "a non-negative integer", true
	case "float64":
		return "a number", true
	case "bool":
		return "true or false", true
	case "time.Duration":
		return "a duration with a unit, such as 500ms, 30s or 1m30s", true
	case "slog.Level":
		return "debug, info, warn or error", true
	}
	return "", false
}

// parseError turns envconfig's error for a value that does not parse into
// one line: `CONCURRENCY="abc": want an integer`. Other errors pass as
// they are.
func parseError(err error) error {
	var pe *envconfig.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	want, ok := expected(pe.TypeName)
	if !ok {
		want = fmt.Sprintf("a value of type %s (%v)", pe.TypeName, pe.Err)
	}
	return fmt.Errorf("%s=%q: want %s", pe.KeyName, pe.Value, want)
}
