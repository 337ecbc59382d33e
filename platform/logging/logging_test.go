package logging_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/distsys-go/orders/platform/logging"
)

// Text lines are key=value with the time of day; JSON stays the default.
func TestFormats(t *testing.T) {
	tests := []struct {
		format string
		want   *regexp.Regexp
	}{
		{"", regexp.MustCompile(`^\{"time":"[^"]+","level":"INFO","msg":"received order","service":"svc","instance":"i-1","order_id":"o-1"\}$`)},
		{logging.FormatJSON, regexp.MustCompile(`^\{"time":.*"msg":"received order"`)},
		{logging.FormatText, regexp.MustCompile(`^time=\d\d:\d\d:\d\d\.\d{3} level=INFO msg="received order" service=svc instance=i-1 order_id=o-1$`)},
	}
	for _, tc := range tests {
		t.Run("format="+tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			logging.New(&buf, logging.Config{Format: tc.format}, "svc", "i-1").Info("received order", "order_id", "o-1")
			if line := strings.TrimSpace(buf.String()); !tc.want.MatchString(line) {
				t.Errorf("line %q does not match %s", line, tc.want)
			}
		})
	}
}

func TestFormatValidated(t *testing.T) {
	for format, ok := range map[string]bool{"json": true, "text": true, "": false, "logfmt": false} {
		err := logging.Config{Format: format}.Validate()
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "LOG_FORMAT")) {
			t.Errorf("LOG_FORMAT=%q: %v, want ok=%v", format, err, ok)
		}
	}
}
