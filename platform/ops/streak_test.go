package ops

import (
	"errors"
	"testing"
	"time"
)

func TestStreak(t *testing.T) {
	errFull := errors.New("full")
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	s := NewStreak("recording orders", func() time.Time { return now })

	if err := s.Check(); err != nil {
		t.Fatalf("fresh streak: %v", err)
	}
	if d := s.OK(); d != 0 {
		t.Fatalf("OK with no streak ended one of %s", d)
	}
	steps := []struct {
		advance   time.Duration
		fail      bool
		wantBegan bool
		wantCheck string // "" = ready
		wantEnded time.Duration
	}{
		{fail: true, wantBegan: true, wantCheck: "recording orders failing (ledger full) for 0s, 1 attempts: full"},
		{advance: 1500 * time.Millisecond, fail: true, wantCheck: "recording orders failing (ledger full) for 1.5s, 2 attempts: full"},
		{advance: time.Second, wantEnded: 2500 * time.Millisecond},
		{fail: true, wantBegan: true, wantCheck: "recording orders failing (ledger full) for 0s, 1 attempts: full"},
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		if st.fail {
			if began := s.Failed("ledger full", errFull); began != st.wantBegan {
				t.Fatalf("step %d: began %v, want %v", i, began, st.wantBegan)
			}
		} else if ended := s.OK(); ended != st.wantEnded {
			t.Fatalf("step %d: ended %s, want %s", i, ended, st.wantEnded)
		}
		err := s.Check()
		switch {
		case st.wantCheck == "" && err != nil:
			t.Fatalf("step %d: %v, want ready", i, err)
		case st.wantCheck != "" && (err == nil || err.Error() != st.wantCheck):
			t.Fatalf("step %d: %v, want %q", i, err, st.wantCheck)
		case st.wantCheck != "" && !errors.Is(err, errFull):
			t.Fatalf("step %d: %v does not wrap the attempt's error", i, err)
		}
	}
}
