package service

import "testing"

func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"300", 300, true},
		{"100", 100, true},
		{"off", -1, true},
		{"0", 0, false},
		{"-5", 0, false},
		{"fast", 0, false},
		{"", 0, false},
	} {
		got, err := GC{Percent: tc.in}.percent()
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("GOGC=%q: %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if (GC{Percent: tc.in}.Validate() == nil) != tc.ok {
			t.Errorf("GOGC=%q: Validate disagrees with percent", tc.in)
		}
	}
}
