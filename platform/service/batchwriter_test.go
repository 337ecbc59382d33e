package service

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Lines written from many goroutines all come out whole, each writer's in
// its order, by Close; a line written after Close goes straight out.
func TestBatchWriter(t *testing.T) {
	var out bytes.Buffer
	w := newBatchWriter(&out)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "%d %d\n", g, i)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "after close\n")
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, l := range got[:len(got)-1] {
		var g, i int
		if _, err := fmt.Sscanf(l, "%d %d", &g, &i); err != nil || i != next[g] {
			t.Fatalf("line %q: want writer %d's line %d (%v)", l, g, next[g], err)
		}
		next[g]++
	}
	if len(got) != writers*lines+1 || got[len(got)-1] != "after close" {
		t.Errorf("%d lines, last %q; want %d and the one after Close", len(got), got[len(got)-1], writers*lines+1)
	}
}
