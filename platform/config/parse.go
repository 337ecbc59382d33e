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
var expected = map[string]string{
	"int":           "an integer",
	"int64":         "an integer",
	"uint":          "a non-negative integer",
	"uint64":        "a non-negative integer",
	"float64":       "a number",
	"bool":          "true or false",
	"time.Duration": "a duration with a unit, such as 500ms, 30s or 1m30s",
	"slog.Level":    "debug, info, warn or error",
}

// parseError turns envconfig's error for a value that does not parse into
// one line: `CONCURRENCY="abc": want an integer`. Other errors pass as
// they are.
func parseError(err error) error {
	var pe *envconfig.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	want, ok := expected[pe.TypeName]
	if !ok {
		want = fmt.Sprintf("a value of type %s (%v)", pe.TypeName, pe.Err)
	}
	return fmt.Errorf("%s=%q: want %s", pe.KeyName, pe.Value, want)
}
