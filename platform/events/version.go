package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Version is one version of the order-created event: where it travels
// and how it is read. Each version has its own subject and its own
// durable consumer, so replicas of two releases never rewrite each
// other's filter; a breaking change to the event is a new Version, never
// an edit of an old one (the contract tests enforce it).
type Version struct {
	// Name is the version as EVENT_VERSION and CONSUME_VERSIONS spell it.
	Name string
	// Type is the CloudEvents type (the ce-type header).
	Type string
	// suffix is appended to SUBJECT and, with '.' turned into '-', to
	// the durable's name; "" for version 1, which predates versions.
	suffix string
	decode func([]byte) (Order, error)
	encode func(Order) (any, error)
}

// The versions this build knows, oldest first.
var (
	V1 = Version{Name: "v1", Type: TypePrefix + "v1", decode: decodeV1, encode: encodeV1}
	V2 = Version{Name: "v2", Type: TypePrefix + "v2", suffix: ".v2", decode: decodeV2, encode: encodeV2}
	// Versions lists them all.
	Versions = []Version{V1, V2}
)

// TypePrefix starts every version's CloudEvents type.
const TypePrefix = "com.github.distsys-go.orders.created."

// LookupVersion returns the version named name, or an error listing the
// known ones.
func LookupVersion(name string) (Version, error) {
	for _, v := range Versions {
		if v.Name == name {
			return v, nil
		}
	}
	return Version{}, fmt.Errorf("%w %q: want one of %s", ErrUnknownVersion, name, strings.Join(VersionNames(), ", "))
}

// VersionNames are the known versions' names, oldest first.
func VersionNames() []string {
	names := make([]string, len(Versions))
	for i, v := range Versions {
		names[i] = v.Name
	}
	return names
}

// VersionOfType returns the version whose CloudEvents type is t.
func VersionOfType(t string) (Version, bool) {
	for _, v := range Versions {
		if v.Type == t {
			return v, true
		}
	}
	return Version{}, false
}

// Subject is the subject this version is published on, given SUBJECT:
// SUBJECT itself for v1, SUBJECT.v2 for v2.
func (v Version) Subject(base string) string { return base + v.suffix }

// Durable is the name of this version's durable consumer (and core NATS
// queue group), given QUEUE_GROUP: QUEUE_GROUP for v1, QUEUE_GROUP-v2
// for v2.
func (v Version) Durable(group string) string {
	return group + strings.ReplaceAll(v.suffix, ".", "-")
}

// Encode returns o as this version's event in JSON, or ErrInvalid when
// the version cannot carry o (v1 has exactly one line and no price) or o
// breaks the version's rules.
func (v Version) Encode(o Order) ([]byte, error) {
	e, err := v.encode(o)
	if err != nil {
		return nil, err
	}
	return json.Marshal(e)
}

// CloudEvents headers of the NATS protocol binding (binary mode): the
// event's attributes as ce-* headers, the body its data.
const (
	HeaderSpecVersion = "ce-specversion"
	HeaderType        = "ce-type"
	HeaderID          = "ce-id"
	HeaderSource      = "ce-source"
	HeaderContentType = "content-type"
	// SpecVersion is the CloudEvents version the headers follow.
	SpecVersion = "1.0"
	// ContentType is the body's media type.
	ContentType = "application/json"
)

// Headers are the CloudEvents headers of an event of this version: its
// id is the order id, source says who sent it (a URI reference such as
// /orders/producer). No ce-time: the body's created_at says when, and
// every header costs each order bytes and parsing (docs/performance.md).
func (v Version) Headers(o Order, source string) map[string]string {
	return map[string]string{
		HeaderSpecVersion: SpecVersion,
		HeaderType:        v.Type,
		HeaderID:          o.ID,
		HeaderSource:      source,
		HeaderContentType: ContentType,
	}
}

// Decode reads a message that came on this version's subject (header may
// be nil: producers before versions sent none). It returns the order in
// the current model, or an error wrapping ErrUnknownVersion (the headers
// name a version this build does not know), ErrVersionMismatch (they
// name another version, or the body is another version's event),
// ErrMalformed or ErrInvalid.
func (v Version) Decode(header map[string]string, data []byte) (Order, error) {
	if t, ok := header[HeaderType]; ok {
		if sv := header[HeaderSpecVersion]; sv != SpecVersion {
			return Order{}, fmt.Errorf("%w: %s %q, this build reads %s", ErrUnknownVersion, HeaderSpecVersion, sv, SpecVersion)
		}
		hv, known := VersionOfType(t)
		switch {
		case !known:
			return Order{}, fmt.Errorf("%w: %s %q is none of %s", ErrUnknownVersion, HeaderType, t, strings.Join(VersionNames(), ", "))
		case hv.Name != v.Name:
			return Order{}, fmt.Errorf("%w: a %s event (%s) on the %s subject", ErrVersionMismatch, hv.Name, HeaderType, v.Name)
		}
	}
	o, err := v.decode(data)
	if err == nil {
		return o, nil
	}
	for _, other := range Versions {
		if other.Name != v.Name {
			if _, oerr := other.decode(data); oerr == nil {
				return Order{}, fmt.Errorf("%w: the body is a %s event, the subject (or %s) is %s's", ErrVersionMismatch, other.Name, HeaderType, v.Name)
			}
		}
	}
	return Order{}, err
}

func decodeV1(data []byte) (Order, error) {
	e, err := DecodeOrder(data)
	if err != nil {
		return Order{}, err
	}
	return e.Order(), nil
}

func decodeV2(data []byte) (Order, error) {
	e, err := DecodeOrderV2(data)
	if err != nil {
		return Order{}, err
	}
	return e.Order(), nil
}

func encodeV1(o Order) (any, error) {
	if len(o.Lines) != 1 || o.Lines[0].UnitPrice != 0 || o.Currency != "" {
		return nil, fmt.Errorf("%w: a v1 event has one line and no price", ErrInvalid)
	}
	e := OrderEvent{ID: o.ID, ProductID: o.Lines[0].SKU, Quantity: o.Lines[0].Quantity, CreatedAt: o.CreatedAt}
	return e, e.Validate()
}

func encodeV2(o Order) (any, error) {
	e := OrderEventV2{ID: o.ID, Lines: o.Lines, Currency: o.Currency, CreatedAt: o.CreatedAt}
	return e, e.Validate()
}

// errNoVersions is returned by ParseVersions for an empty list.
var errNoVersions = errors.New("at least one version is needed")

// ParseVersions reads a list of version names (CONSUME_VERSIONS), each
// known and named once.
func ParseVersions(names []string) ([]Version, error) {
	if len(names) == 0 {
		return nil, errNoVersions
	}
	out := make([]Version, 0, len(names))
	for _, n := range names {
		v, err := LookupVersion(n)
		if err != nil {
			return nil, err
		}
		for _, seen := range out {
			if seen.Name == n {
				return nil, fmt.Errorf("%s named twice", n)
			}
		}
		out = append(out, v)
	}
	return out, nil
}
