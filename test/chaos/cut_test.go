package chaos

import (
	"errors"
	"fmt"
	"testing"
)

// linkBytes is what the counting toxics on one direction of a proxy saw
// while a partition lasted: the bytes offered to the cut, and the bytes
// that got past it.
type linkBytes struct{ offered, passed int64 }

// errCannotTell: nothing was offered to the cut, so an idle link and a
// cut one look the same.
var errCannotTell = errors.New("no traffic was offered while the partition lasted: an idle link proves no cut")

// partitionCut says whether a partition took effect: traffic was offered
// to the cut, and not a byte of it got through in either direction.
func partitionCut(up, down linkBytes) error {
	if up.passed != 0 || down.passed != 0 {
		return fmt.Errorf("the partition did not cut the link: %d of %d bytes got through upstream, %d of %d downstream",
			up.passed, up.offered, down.passed, down.offered)
	}
	if up.offered+down.offered == 0 {
		return errCannotTell
	}
	return nil
}

// The partition check fails when the toxic never took effect, and when
// the link was idle, so a cut could not be told from no traffic.
func TestPartitionCut(t *testing.T) {
	tests := []struct {
		name     string
		up, down linkBytes
		wantErr  bool
	}{
		{"cut: offered both ways, nothing through", linkBytes{300, 0}, linkBytes{45000, 0}, false},
		{"cut: only the server had something to say", linkBytes{0, 0}, linkBytes{1200, 0}, false},
		{"no effect: everything got through", linkBytes{300, 300}, linkBytes{45000, 45000}, true},
		{"half a partition: the way down stayed open", linkBytes{300, 0}, linkBytes{45000, 45000}, true},
		{"a leak upstream", linkBytes{300, 12}, linkBytes{45000, 0}, true},
		{"idle link: cannot tell", linkBytes{}, linkBytes{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := partitionCut(tc.up, tc.down); (err != nil) != tc.wantErr {
				t.Fatalf("partitionCut(%+v, %+v) = %v, want an error: %v", tc.up, tc.down, err, tc.wantErr)
			}
		})
	}
}
