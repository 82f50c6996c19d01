// Package wire encodes and decodes Phoenix Channels frames: the V1 JSON
// object frames (vsn 1.0.x), the V2 JSON array frames (vsn 2.0.x) and the V2
// binary frames. It knows nothing about sockets or channels.
//
// Refs are kept as raw JSON so that a ref sent as "1", 1 or null comes back
// exactly as it was sent (PROTOCOL.md F-3).
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Message is one frame, decoded. A reply has a non-empty Status: it travels as
// event "phx_reply" with payload {"response": Payload, "status": Status}.
type Message struct {
	JoinRef []byte // raw JSON; nil means null
	Ref     []byte // raw JSON; nil means null
	Topic   string
	Event   string
	// RawTopic and RawEvent hold the JSON of a topic or event that is not a
	// string (Topic or Event is then ""). Such a message can only be answered
	// as an unmatched topic, echoing the topic as it came (PROTOCOL.md M-2).
	RawTopic []byte
	RawEvent []byte
	Status   string // set on replies only
	Payload  []byte // JSON text, or raw bytes when Binary
	Binary   bool
}

// Serializer turns Messages into frames and frames into Messages.
type Serializer interface {
	// Name is the Phoenix module name, used in logs.
	Name() string
	// Decode parses one inbound frame. binary tells whether the frame was a
	// binary WebSocket message.
	Decode(frame []byte, binary bool) (Message, error)
	// Encode appends the frame for m to dst and reports whether it must be
	// sent as a binary WebSocket message.
	Encode(dst []byte, m *Message) (frame []byte, binary bool, err error)
}

// ErrDecode is wrapped by every decoding failure.
var ErrDecode = errors.New("phx: malformed frame")

// ErrBinaryUnsupported is returned when a binary payload must go to a V1 client.
var ErrBinaryUnsupported = errors.New("phx: the V1 serializer cannot carry binary payloads; clients must connect with vsn=2.0.0")

// Null is the JSON null literal.
var Null = []byte("null")

// empty is the JSON empty object, the payload of phx_close and the default
// response.
var empty = []byte("{}")

func decodeErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrDecode}, args...)...)
}

// normRef turns a raw JSON ref into its stored form: nil for null.
func normRef(raw []byte) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, Null) {
		return nil
	}
	return raw
}

// appendRef appends a ref, writing null for nil.
func appendRef(dst, ref []byte) []byte {
	if ref == nil {
		return append(dst, Null...)
	}
	return append(dst, ref...)
}

// appendPayload appends a JSON payload, writing {} for an empty one.
func appendPayload(dst, p []byte) []byte {
	if len(p) == 0 {
		return append(dst, empty...)
	}
	return append(dst, p...)
}

// AppendString appends s as a JSON string, without HTML escaping (Phoenix's
// JSON encoder does not escape <, > or &).
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return appendStringSlow(dst, s)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func appendStringSlow(dst []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...)
}

// QuoteRef returns a JSON string ref for s, as refs read from binary frames
// are strings.
func QuoteRef(s string) []byte { return AppendString(nil, s) }

// RefText returns the text of a ref for a binary frame header: the contents of
// a JSON string, or the raw JSON of anything else.
func RefText(ref []byte) string {
	if len(ref) > 0 && ref[0] == '"' {
		var s string
		if json.Unmarshal(ref, &s) == nil {
			return s
		}
	}
	return string(ref)
}

// Marshal encodes v as JSON without HTML escaping and without a trailing
// newline.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil
}

// decodeName reads a topic or event: a JSON string, or any other JSON value
// kept raw. raw is valid JSON.
func decodeName(raw []byte, name *string, odd *[]byte) {
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw[1:len(raw)-1], '\\') < 0 {
		*name = string(raw[1 : len(raw)-1]) // the common case: no escapes
		return
	}
	if json.Unmarshal(raw, name) != nil || bytes.Equal(bytes.TrimSpace(raw), Null) {
		*name = ""
		*odd = compactJSON(raw)
	}
}

// splitArray splits the valid JSON text b, which must be an array, into its
// elements, storing the first len(parts) of them. It returns how many
// elements there are, and false when b is not an array.
func splitArray(b []byte, parts [][]byte) (int, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return 0, true
	}
	n := 0
	for i < len(b) {
		end := skipValue(b, i)
		if n < len(parts) {
			parts[n] = b[i:end]
		}
		n++
		i = skipSpace(b, end)
		if i >= len(b) || b[i] == ']' {
			break
		}
		i = skipSpace(b, i+1) // the comma
	}
	return n, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at b[i]; b is valid
// JSON.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != ']' && b[i] != '}' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}

// skipString returns the end of the JSON string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

func compactJSON(raw []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return bytes.Clone(raw)
	}
	return b.Bytes()
}

// appendTopic appends m's topic, raw when it was not a string.
func appendTopic(dst []byte, m *Message) []byte {
	if m.RawTopic != nil {
		return append(dst, m.RawTopic...)
	}
	return AppendString(dst, m.Topic)
}

// U+2028 and U+2029 in UTF-8: Marshal escapes them.
var lineSep, paraSep = []byte("\u2028"), []byte("\u2029")

// Canonical reports whether the JSON text b is already written the way
// Marshal writes what it decoded: no insignificant space, object keys in
// increasing order without repeats, and no escape sequences (which Marshal
// could write differently). It does not check that b is valid JSON.
func Canonical(b []byte) bool {
	type level struct {
		object  bool
		last    []byte
		hasLast bool
	}
	if !utf8.Valid(b) || bytes.Contains(b, lineSep) || bytes.Contains(b, paraSep) {
		return false // Marshal would escape these
	}
	var stack [32]level
	depth := -1
	wantKey := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case ' ', '\t', '\n', '\r':
			return false
		case '"':
			end := i + 1
			for end < len(b) && b[end] != '"' {
				if b[end] == '\\' {
					return false
				}
				end++
			}
			if wantKey {
				top := &stack[depth]
				key := b[i+1 : end]
				if top.hasLast && bytes.Compare(key, top.last) <= 0 {
					return false
				}
				top.last, top.hasLast, wantKey = key, true, false
			}
			i = end
		case '{', '[':
			depth++
			if depth == len(stack) {
				return false
			}
			stack[depth] = level{object: c == '{'}
			wantKey = c == '{'
		case '}', ']':
			depth--
			wantKey = false
		case ',':
			wantKey = depth >= 0 && stack[depth].object
		}
	}
	return true
}
