package testkit

import (
	"bytes"
	"encoding/json"
	"strings"
)

// msgKey starts the message of a slog JSON line.
var msgKey = []byte(`"msg":"`)

// LineMsg finds the message of a JSON log line without parsing the rest;
// only a message with an escape in it costs a full parse. ok is false for a
// line with no message (a panic trace, say).
func LineMsg(line []byte) (msg string, ok bool) {
	if i := bytes.Index(line, msgKey); i >= 0 {
		rest := line[i+len(msgKey):]
		if end := bytes.IndexByte(rest, '"'); end > 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			return string(rest[:end]), true
		}
	}
	var rec struct {
		Msg string `json:"msg"`
	}
	if json.Unmarshal(line, &rec) != nil || rec.Msg == "" {
		return "", false
	}
	return rec.Msg, true
}

// tail is the last n bytes of s, trimmed: enough of a stderr to say why.
func tail(s string, n int) string {
	return strings.TrimSpace(s[max(0, len(s)-n):])
}

// lastLinesOf is the last n lines of s.
func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
