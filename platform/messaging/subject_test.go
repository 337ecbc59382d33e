package messaging_test

import (
	"errors"
	"testing"

	"github.com/distsys-go/orders/platform/messaging"
)

func TestChecks(t *testing.T) {
	filter, subject, name := messaging.CheckFilter, messaging.CheckSubject, messaging.CheckName
	tests := []struct {
		check func(string) error
		in    string
		want  error
	}{
		{subject, "orders.created", nil},
		{subject, "orders", nil},
		{subject, "", messaging.ErrEmpty},
		{subject, "orders.*", messaging.ErrWildcard},
		{subject, "orders.>", messaging.ErrWildcard},
		{subject, "orders..created", messaging.ErrToken},
		{subject, ".orders", messaging.ErrToken},
		{subject, "orders.", messaging.ErrToken},
		{subject, "orders created", messaging.ErrSpace},
		{filter, "orders.>", nil},
		{filter, "*.created", nil},
		{filter, "orders.>..x", messaging.ErrToken},
		{filter, "", messaging.ErrEmpty},
		{filter, "orders .>", messaging.ErrSpace},
		{name, "ORDERS", nil},
		{name, "fulfilment-workers", nil},
		{name, "orders_processed", nil},
		{name, "", messaging.ErrEmpty},
		{name, "a.b", messaging.ErrNameChar},
		{name, "a*", messaging.ErrNameChar},
		{name, "a>", messaging.ErrNameChar},
		{name, "a/b", messaging.ErrNameChar},
		{name, "a b", messaging.ErrSpace},
	}
	for _, tc := range tests {
		if got := tc.check(tc.in); !errors.Is(got, tc.want) {
			t.Errorf("check(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSubjectMatches(t *testing.T) {
	tests := []struct {
		filter, subject string
		want            bool
	}{
		{"orders.>", "orders.created", true},
		{"orders.>", "orders.created.eu", true},
		{"orders.>", "orders", false},
		{"orders.*", "orders.created", true},
		{"orders.*", "orders.created.eu", false},
		{"orders.created", "orders.created", true},
		{"orders.created", "orders.deleted", false},
		{"*.created", "orders.created", true},
		{">", "anything.at.all", true},
		{"orders", "orders.created", false},
		{"foo.>", "orders.created", false},
	}
	for _, tc := range tests {
		if got := messaging.SubjectMatches(tc.filter, tc.subject); got != tc.want {
			t.Errorf("SubjectMatches(%q, %q) = %v, want %v", tc.filter, tc.subject, got, tc.want)
		}
	}
}
