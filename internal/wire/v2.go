package wire

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// V2 is the vsn 2.0.x serializer: JSON arrays in text frames and the compact
// binary layout of PROTOCOL.md §2.3 in binary frames.
var V2 Serializer = v2{}

type v2 struct{}

func (v2) Name() string { return "Phoenix.Socket.V2.JSONSerializer" }

// Binary frame kinds (byte 0).
const (
	kindPush      = 0
	kindReply     = 1
	kindBroadcast = 2
)

// Decode parses a frame. The Message's refs and payload are slices of frame,
// which must not be modified afterwards.
func (v2) Decode(frame []byte, binary bool) (Message, error) {
	if binary {
		return decodeBinary(frame)
	}
	if !utf8.Valid(frame) {
		return Message{}, decodeErr("a text frame must be valid UTF-8")
	}
	if !json.Valid(frame) {
		return Message{}, decodeErr("a V2 frame must be a JSON array [join_ref, ref, topic, event, payload]: %s", invalidJSON(frame))
	}
	var parts [5][]byte
	n, ok := splitArray(frame, parts[:])
	if !ok {
		return Message{}, decodeErr("a V2 frame must be a JSON array [join_ref, ref, topic, event, payload]")
	}
	if n < 5 {
		return Message{}, decodeErr("a V2 frame needs 5 elements [join_ref, ref, topic, event, payload], got %d", n)
	}
	m := Message{JoinRef: normRef(parts[0]), Ref: normRef(parts[1]), Payload: parts[4]}
	decodeName(parts[2], &m.Topic, &m.RawTopic)
	decodeName(parts[3], &m.Event, &m.RawEvent)
	return m, nil
}

// invalidJSON describes why b is not JSON.
func invalidJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return fmt.Errorf("invalid JSON")
}

// decodeBinary reads a client push: kind 0, then the lengths of join_ref,
// ref, topic and event, then those strings, then the payload.
func decodeBinary(b []byte) (Message, error) {
	if len(b) < 5 {
		return Message{}, decodeErr("a binary frame needs a 5-byte header, got %d bytes", len(b))
	}
	if b[0] != kindPush {
		return Message{}, decodeErr("a client binary frame must be a push (kind 0), got kind %d", b[0])
	}
	lens := [4]int{int(b[1]), int(b[2]), int(b[3]), int(b[4])}
	rest := b[5:]
	var fields [4]string
	for i, n := range lens {
		if len(rest) < n {
			return Message{}, decodeErr("binary frame truncated: header announces %d more bytes than it has", n-len(rest))
		}
		fields[i] = string(rest[:n])
		rest = rest[n:]
	}
	payload := make([]byte, len(rest))
	copy(payload, rest)
	return Message{
		JoinRef: QuoteRef(fields[0]),
		Ref:     QuoteRef(fields[1]),
		Topic:   fields[2],
		Event:   fields[3],
		Payload: payload,
		Binary:  true,
	}, nil
}

func (v2) Encode(dst []byte, m *Message) ([]byte, bool, error) {
	if m.Binary {
		b, err := encodeBinary(dst, m)
		return b, true, err
	}
	dst = append(dst, '[')
	dst = appendRef(dst, m.JoinRef)
	dst = append(dst, ',')
	dst = appendRef(dst, m.Ref)
	dst = append(dst, ',')
	dst = appendTopic(dst, m)
	dst = append(dst, ',')
	if m.Status != "" {
		dst = append(dst, `"phx_reply",`...)
		dst = appendReplyPayload(dst, m)
	} else {
		dst = AppendString(dst, m.Event)
		dst = append(dst, ',')
		dst = appendPayload(dst, m.Payload)
	}
	return append(dst, ']'), false, nil
}

// appendReplyPayload appends {"response":...,"status":"..."}.
func appendReplyPayload(dst []byte, m *Message) []byte {
	dst = append(dst, `{"response":`...)
	dst = appendPayload(dst, m.Payload)
	dst = append(dst, `,"status":`...)
	dst = AppendString(dst, m.Status)
	return append(dst, '}')
}

func encodeBinary(dst []byte, m *Message) ([]byte, error) {
	var fields []string
	var kind byte
	switch {
	case m.Status != "":
		kind = kindReply
		fields = []string{RefText(m.JoinRef), RefText(m.Ref), m.Topic, m.Status}
	case m.JoinRef == nil:
		kind = kindBroadcast
		fields = []string{m.Topic, m.Event}
	default:
		kind = kindPush
		fields = []string{RefText(m.JoinRef), m.Topic, m.Event}
	}
	dst = append(dst, kind)
	for _, f := range fields {
		if len(f) > 255 {
			return nil, fmt.Errorf("phx: a binary frame field is limited to 255 bytes, got %d in %.40q…", len(f), f)
		}
		dst = append(dst, byte(len(f)))
	}
	for _, f := range fields {
		dst = append(dst, f...)
	}
	return append(dst, m.Payload...), nil
}
