package wire

import (
	"encoding/json"
	"unicode/utf8"
)

// V1 is the vsn 1.0.x serializer: JSON objects, no binary frames, and no
// join_ref on outbound frames (PROTOCOL.md §2.2).
var V1 Serializer = v1{}

type v1 struct{}

func (v1) Name() string { return "Phoenix.Socket.V1.JSONSerializer" }

func (v1) Decode(frame []byte, binary bool) (Message, error) {
	if binary {
		return Message{}, decodeErr("the V1 serializer accepts text frames only; connect with vsn=2.0.0 to send binary")
	}
	if !utf8.Valid(frame) {
		return Message{}, decodeErr("a text frame must be valid UTF-8")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(frame, &obj); err != nil {
		return Message{}, decodeErr("a V1 frame must be a JSON object with topic, event, payload and ref: %v", err)
	}
	for _, k := range []string{"topic", "event", "payload", "ref"} {
		if _, ok := obj[k]; !ok {
			return Message{}, decodeErr("a V1 frame needs the key %q", k)
		}
	}
	m := Message{JoinRef: normRef(obj["join_ref"]), Ref: normRef(obj["ref"]), Payload: obj["payload"]}
	decodeName(obj["topic"], &m.Topic, &m.RawTopic)
	decodeName(obj["event"], &m.Event, &m.RawEvent)
	return m, nil
}

// Encode writes {"event":E,"payload":P,"ref":R,"topic":T}: Phoenix's key
// order, never a join_ref.
func (v1) Encode(dst []byte, m *Message) ([]byte, bool, error) {
	if m.Binary {
		return nil, false, ErrBinaryUnsupported
	}
	dst = append(dst, `{"event":`...)
	if m.Status != "" {
		dst = append(dst, `"phx_reply","payload":`...)
		dst = appendReplyPayload(dst, m)
	} else {
		dst = AppendString(dst, m.Event)
		dst = append(dst, `,"payload":`...)
		dst = appendPayload(dst, m.Payload)
	}
	dst = append(dst, `,"ref":`...)
	dst = appendRef(dst, m.Ref)
	dst = append(dst, `,"topic":`...)
	dst = appendTopic(dst, m)
	return append(dst, '}'), false, nil
}
