package testkit

// TB is the part of testing.TB the kit uses, so that a program which is not
// a test (test/bench) can run processes and waits with it too, supplying
// its own: a *testing.T or *testing.B is one.
type TB interface {
	Logger
	Fatalf(format string, args ...any)
	Cleanup(func())
	Failed() bool
}
