//go:build chaos

package chaos

import (
	"fmt"
	"sync"
	"testing"
)

// faultT is a fault's *testing.T that also keeps the messages that failed
// it, so that the report can end with them: a parallel fault's failing
// line is printed when it happens, far above the tables, and a CI log is
// often read from its end.
type faultT struct {
	*testing.T
	mu  sync.Mutex
	why []string
}

func (t *faultT) note(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.why = append(t.why, msg)
}

// failures are the messages that failed t, in order.
func (t *faultT) failures() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.why...)
}

func (t *faultT) Error(args ...any) {
	t.T.Helper()
	t.note(fmt.Sprint(args...))
	t.T.Error(args...)
}

func (t *faultT) Errorf(format string, args ...any) {
	t.T.Helper()
	t.note(fmt.Sprintf(format, args...))
	t.T.Errorf(format, args...)
}

func (t *faultT) Fatal(args ...any) {
	t.T.Helper()
	t.note(fmt.Sprint(args...))
	t.T.Fatal(args...)
}

func (t *faultT) Fatalf(format string, args ...any) {
	t.T.Helper()
	t.note(fmt.Sprintf(format, args...))
	t.T.Fatalf(format, args...)
}
