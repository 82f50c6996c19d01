package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// This file holds the tool's fast path for V2 JSON frames: a scanner that
// splits a frame into its five raw elements without decoding them, and the
// encoders of the few frames the tool sends. Frames are compared byte for
// byte first; only when the bytes differ does a check fall back to decoding
// (so that a server with a different but equivalent JSON encoder still
// passes).

// Raw JSON literals the checks compare against.
var (
	jsonNull   = []byte("null")
	jsonOK     = []byte(`"ok"`)
	jsonEmpty  = []byte("{}")
	evReply    = []byte(`"phx_reply"`)
	evShout    = []byte(`"shout"`)
	topPhoenix = []byte(`"phoenix"`)
	keyStatus  = []byte(`"status"`)
	keyResp    = []byte(`"response"`)
)

// frame is one V2 frame split into its raw JSON elements.
type frame struct {
	joinRef, ref, topic, event, payload []byte
}

// errFrame is wrapped by every complaint about a frame's shape or contents.
var errFrame = errors.New("protocol error")

// frameErr builds an error that names what was wrong and quotes the frame.
func frameErr(raw []byte, format string, args ...any) error {
	const max = 300
	q := raw
	if len(q) > max {
		q = q[:max]
	}
	return fmt.Errorf("%w: %s in frame %s", errFrame, fmt.Sprintf(format, args...), q)
}

// isSpace reports JSON insignificant whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanValue returns the index just past the JSON value that starts at b[i].
// It checks the structure (strings, nesting) but not the spelling of numbers
// and literals; values that are compared are compared exactly.
func scanValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("value expected, end of frame found")
	}
	switch b[i] {
	case '"':
		return scanString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := scanString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errors.New("unterminated object or array")
	default:
		start := i
		for i < len(b) && b[i] != ',' && b[i] != ']' && b[i] != '}' && !isSpace(b[i]) {
			i++
		}
		if i == start {
			return 0, fmt.Errorf("unexpected %q", b[i])
		}
		return i, nil
	}
}

// scanString returns the index just past the JSON string at b[i].
func scanString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated string")
}

// parseFrame splits a V2 text frame [join_ref, ref, topic, event, payload].
// The slices alias b.
func parseFrame(b []byte) (frame, error) {
	var f frame
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return f, frameErr(b, "a V2 frame must be a JSON array")
	}
	var parts [5][]byte
	i++
	for n := 0; n < 5; n++ {
		i = skipSpace(b, i)
		end, err := scanValue(b, i)
		if err != nil {
			return f, frameErr(b, "element %d: %v", n, err)
		}
		parts[n] = b[i:end]
		i = skipSpace(b, end)
		want := byte(',')
		if n == 4 {
			want = ']'
		}
		if i >= len(b) || b[i] != want {
			return f, frameErr(b, "a V2 frame must have exactly 5 elements")
		}
		i++
	}
	if skipSpace(b, i) != len(b) {
		return f, frameErr(b, "trailing data after the array")
	}
	f.joinRef, f.ref, f.topic, f.event, f.payload = parts[0], parts[1], parts[2], parts[3], parts[4]
	return f, nil
}

// objectFields calls fn with the raw key and value of each member of the
// JSON object b, in order, and stops early when fn returns false.
func objectFields(b []byte, fn func(key, val []byte) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("not a JSON object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errors.New("object key expected")
		}
		kend, err := scanString(b, i)
		if err != nil {
			return err
		}
		key := b[i:kend]
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return errors.New("':' expected after an object key")
		}
		i = skipSpace(b, i+1)
		vend, err := scanValue(b, i)
		if err != nil {
			return err
		}
		if !fn(key, b[i:vend]) {
			return nil
		}
		i = skipSpace(b, vend)
		if i < len(b) && b[i] == '}' {
			return nil
		}
		if i >= len(b) || b[i] != ',' {
			return errors.New("',' or '}' expected in an object")
		}
		i = skipSpace(b, i+1)
	}
}

// sameString reports whether the raw JSON string raw spells want, a quoted
// JSON string without escapes. Escaped spellings are decoded first.
func sameString(raw, want []byte) bool {
	if bytes.Equal(raw, want) {
		return true
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return false
	}
	var a, b string
	return json.Unmarshal(raw, &a) == nil && json.Unmarshal(want, &b) == nil && a == b
}

// sameJSON reports whether two JSON texts are equal: byte for byte, or
// else as decoded values (numbers compared by their text).
func sameJSON(got, want []byte) bool {
	if bytes.Equal(got, want) {
		return true
	}
	var a, b any
	if decodeNumbers(got, &a) != nil || decodeNumbers(want, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

func decodeNumbers(b []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// parseInt reads a raw JSON integer. Servers that re-encode payloads must
// keep integers integers (Phoenix does).
func parseInt(raw []byte) (int64, bool) {
	if len(raw) == 0 || len(raw) > 19 {
		return 0, false
	}
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
		if len(raw) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseRef reads a ref the tool sent: a JSON string of decimal digits.
func parseRef(raw []byte) (uint64, bool) {
	if len(raw) < 3 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return 0, false
	}
	n, ok := parseInt(raw[1 : len(raw)-1])
	return uint64(n), ok && n > 0
}

// appendRef appends ref n as phoenix.js writes refs: a JSON string.
func appendRef(dst []byte, n uint64) []byte {
	dst = append(dst, '"')
	dst = strconv.AppendUint(dst, n, 10)
	return append(dst, '"')
}

// appendPush appends [join_ref, ref, topic, event, payload]. topic and event
// are raw JSON strings; joinRef 0 writes null.
func appendPush(dst []byte, joinRef, ref uint64, topic, event, payload []byte) []byte {
	dst = append(dst, '[')
	if joinRef == 0 {
		dst = append(dst, jsonNull...)
	} else {
		dst = appendRef(dst, joinRef)
	}
	dst = append(dst, ',')
	dst = appendRef(dst, ref)
	dst = append(dst, ',')
	dst = append(dst, topic...)
	dst = append(dst, ',')
	dst = append(dst, event...)
	dst = append(dst, ',')
	dst = append(dst, payload...)
	return append(dst, ']')
}

// replyOf checks that f is a phx_reply for (joinRef, ref) on topic with
// status "ok" and returns its response. joinRef 0 expects null.
func replyOf(raw []byte, f *frame, joinRef, ref uint64, topic []byte) ([]byte, error) {
	if !sameString(f.event, evReply) {
		return nil, frameErr(raw, "expected a phx_reply, got event %s", f.event)
	}
	if !sameString(f.topic, topic) {
		return nil, frameErr(raw, "reply on topic %s, expected %s", f.topic, topic)
	}
	if r, ok := parseRef(f.ref); !ok || r != ref {
		return nil, frameErr(raw, "reply ref %s, expected \"%d\"", f.ref, ref)
	}
	if joinRef == 0 {
		if !bytes.Equal(f.joinRef, jsonNull) {
			return nil, frameErr(raw, "reply join_ref %s, expected null", f.joinRef)
		}
	} else if r, ok := parseRef(f.joinRef); !ok || r != joinRef {
		return nil, frameErr(raw, "reply join_ref %s, expected \"%d\"", f.joinRef, joinRef)
	}
	var status, resp []byte
	err := objectFields(f.payload, func(k, v []byte) bool {
		switch {
		case sameString(k, keyStatus):
			status = v
		case sameString(k, keyResp):
			resp = v
		}
		return true
	})
	if err != nil {
		return nil, frameErr(raw, "reply payload: %v", err)
	}
	if status == nil || resp == nil {
		return nil, frameErr(raw, "a reply payload needs \"status\" and \"response\"")
	}
	if !sameString(status, jsonOK) {
		return nil, frameErr(raw, "reply status %s, expected \"ok\"", status)
	}
	return resp, nil
}
