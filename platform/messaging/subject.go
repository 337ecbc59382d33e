package messaging

import (
	"errors"
	"slices"
	"strings"
	"unicode"
)

// Errors of CheckFilter, CheckSubject and CheckName.
var (
	ErrEmpty    = errors.New("empty")
	ErrWildcard = errors.New("has a wildcard ('*' or '>'), which cannot be published on")
	ErrToken    = errors.New("has an empty token (leading, trailing or double '.')")
	ErrSpace    = errors.New("has white space")
	ErrNameChar = errors.New("has '.', '*', '>', '/' or '\\', which stream, consumer and bucket names cannot")
)

// CheckFilter reports why filter cannot be a subject filter (a stream's
// subjects, where the wildcards '*' and '>' are allowed), or nil.
func CheckFilter(filter string) error {
	switch {
	case filter == "":
		return ErrEmpty
	case strings.IndexFunc(filter, unicode.IsSpace) >= 0:
		return ErrSpace
	case slices.Contains(strings.Split(filter, "."), ""):
		return ErrToken
	}
	return nil
}

// CheckSubject reports why subject cannot be published on, or nil: it must
// be a valid filter without wildcards.
func CheckSubject(subject string) error {
	if err := CheckFilter(subject); err != nil {
		return err
	}
	for _, tok := range strings.Split(subject, ".") {
		if tok == "*" || tok == ">" {
			return ErrWildcard
		}
	}
	return nil
}

// CheckName reports why name cannot name a JetStream stream, durable
// consumer or key-value bucket (or a queue group, which doubles as the
// durable's name), or nil.
func CheckName(name string) error {
	switch {
	case name == "":
		return ErrEmpty
	case strings.IndexFunc(name, unicode.IsSpace) >= 0:
		return ErrSpace
	case strings.ContainsAny(name, `.*>/\`):
		return ErrNameChar
	}
	return nil
}

// SubjectMatches reports whether the literal subject matches filter, which
// may hold the wildcards '*' (one token) and '>' (one or more trailing
// tokens), as a stream's subjects do.
func SubjectMatches(filter, subject string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, f := range ft {
		if f == ">" {
			return len(st) > i
		}
		if i >= len(st) || (f != "*" && f != st[i]) {
			return false
		}
	}
	return len(ft) == len(st)
}
