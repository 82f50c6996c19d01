package channeltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/google/go-cmp/cmp"

	"github.com/phxgo/phx"
)

// Any, given as a want, matches every payload: ChannelTest's `_` pattern,
// and what assert_reply's default %{} pattern means in practice.
var Any any = anyPayload{}

type anyPayload struct{}

// Diff compares the payload a client received with want and returns a
// human-readable report of the differences, "" when they match. Assert* use
// it; call it directly to check a join reply or a NextPush result.
//
// want is compared after a JSON round trip of both sides, so
// map[string]string{"ping": "pong"}, a struct with the same JSON form and
// json.RawMessage(`{"ping":"pong"}`) all equal the payload {"ping":"pong"},
// and numbers compare by value. A nil want equals {}. Any matches
// everything. A phx.Binary or []byte want is compared byte for byte with a
// binary payload. A func(phx.Payload) error is called instead of comparing,
// for what a ChannelTest pattern with a guard expresses (a non-nil error is
// the mismatch).
func Diff(want any, got phx.Payload) string {
	switch w := want.(type) {
	case anyPayload:
		return ""
	case func(phx.Payload) error:
		if err := w(got); err != nil {
			return err.Error()
		}
		return ""
	case phx.Binary:
		return diffBinary(w, got)
	case []byte:
		return diffBinary(w, got)
	case phx.Payload:
		if w.Binary {
			return diffBinary(w.Data, got)
		}
		want = json.RawMessage(orEmpty(w.Data))
	case *phx.Payload:
		return Diff(*w, got)
	case nil:
		want = json.RawMessage("{}")
	}
	if got.Binary {
		return fmt.Sprintf("got a binary payload of %d bytes (% x), want the JSON value %s", len(got.Data), head(got.Data), show(want))
	}
	w, err := roundTrip(want)
	if err != nil {
		return fmt.Sprintf("cannot encode want %#v as JSON: %v", want, err)
	}
	var g any
	if err := json.Unmarshal(orEmpty(got.Data), &g); err != nil {
		return fmt.Sprintf("got a payload that is not JSON (%v): %q", err, got.Data)
	}
	if d := cmp.Diff(w, g); d != "" {
		return "(-want +got):\n" + d
	}
	return ""
}

func diffBinary(want []byte, got phx.Payload) string {
	if !got.Binary {
		return fmt.Sprintf("got the JSON payload %s, want a binary payload of %d bytes", orEmpty(got.Data), len(want))
	}
	if d := cmp.Diff([]byte(want), got.Data); d != "" {
		return "binary payload (-want +got):\n" + d
	}
	return ""
}

// roundTrip turns v into the value a client would decode from its JSON.
func roundTrip(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

func orEmpty(b []byte) []byte {
	if len(bytes.TrimSpace(b)) == 0 {
		return []byte("{}")
	}
	return b
}

func head(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

// show renders a want for a message.
func show(v any) string {
	switch w := v.(type) {
	case nil:
		return "{}"
	case anyPayload:
		return "<any>"
	case func(phx.Payload) error:
		return "<matcher func>"
	case phx.Binary:
		return fmt.Sprintf("<binary % x>", head(w))
	case []byte:
		return fmt.Sprintf("<binary % x>", head(w))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// showPayload renders a received payload for a message.
func showPayload(p phx.Payload) string {
	if p.Binary {
		return fmt.Sprintf("<binary % x>", head(p.Data))
	}
	return string(orEmpty(p.Data))
}

// encodePayload turns what a test pushes into a payload: nil is {}, a
// phx.Binary (or binary phx.Payload) travels as a binary frame, anything
// else as its JSON.
func encodePayload(v any) (phx.Payload, error) {
	switch x := v.(type) {
	case nil:
		return phx.Payload{Data: []byte("{}")}, nil
	case phx.Binary:
		return phx.Payload{Data: x, Binary: true}, nil
	case phx.Payload:
		if x.Binary {
			return x, nil
		}
		return phx.Payload{Data: orEmpty(x.Data)}, nil
	case *phx.Payload:
		return encodePayload(*x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return phx.Payload{}, err
	}
	return phx.Payload{Data: b}, nil
}

// frame is one frame the server sent, decoded as far as the V2 serializer
// allows. Undecodable frames (a V1 connection, garbage) keep only data and
// have bad set; channel assertions ignore them, wire mode still sees them.
type frame struct {
	data    []byte
	binary  bool
	bad     error
	joinRef string // "" for null
	ref     string // "" for null
	topic   string
	event   string
	status  string // phx_reply only
	payload phx.Payload
}

// lifecycle tells whether f is the end of a channel rather than a push.
func (f *frame) lifecycle() bool {
	return f.event == "phx_reply" || f.event == "phx_close" || f.event == "phx_error"
}

func (f *frame) String() string {
	if !f.binary {
		return string(f.data)
	}
	if f.bad != nil {
		return fmt.Sprintf("<binary frame % x>", head(f.data))
	}
	return fmt.Sprintf("<binary %s join_ref=%q ref=%q topic=%q status=%q payload % x>", f.event, f.joinRef, f.ref, f.topic, f.status, head(f.payload.Data))
}

// decodeFrame reads a frame the server sent (PROTOCOL.md §2.1, §2.3).
func decodeFrame(data []byte, binary bool) *frame {
	f := &frame{data: data, binary: binary}
	if binary {
		f.bad = f.decodeBinary()
	} else {
		f.bad = f.decodeText()
	}
	return f
}

func (f *frame) decodeText() error {
	var parts []json.RawMessage
	if err := json.Unmarshal(f.data, &parts); err != nil || len(parts) != 5 {
		return fmt.Errorf("not a V2 frame [join_ref, ref, topic, event, payload]")
	}
	f.joinRef, f.ref = refText(parts[0]), refText(parts[1])
	if json.Unmarshal(parts[2], &f.topic) != nil || json.Unmarshal(parts[3], &f.event) != nil {
		return fmt.Errorf("topic or event is not a string")
	}
	f.payload = phx.Payload{Data: parts[4]}
	if f.event == "phx_reply" {
		var r struct {
			Response json.RawMessage `json:"response"`
			Status   string          `json:"status"`
		}
		if err := json.Unmarshal(parts[4], &r); err != nil {
			return fmt.Errorf("phx_reply payload: %v", err)
		}
		f.status, f.payload = r.Status, phx.Payload{Data: orEmpty(r.Response)}
	}
	return nil
}

// decodeBinary reads the server's binary layouts: push (kind 0: join_ref,
// topic, event), reply (kind 1: join_ref, ref, topic, status) and broadcast
// (kind 2: topic, event).
func (f *frame) decodeBinary() error {
	b := f.data
	if len(b) == 0 {
		return fmt.Errorf("empty binary frame")
	}
	var n int // header fields after the kind byte
	switch b[0] {
	case 0:
		n = 3
	case 1:
		n = 4
	case 2:
		n = 2
	}
	if n == 0 || len(b) < 1+n {
		return fmt.Errorf("unknown or truncated binary frame")
	}
	fields := make([]string, n)
	rest := b[1+n:]
	for i := range n {
		l := int(b[1+i])
		if len(rest) < l {
			return fmt.Errorf("truncated binary frame")
		}
		fields[i], rest = string(rest[:l]), rest[l:]
	}
	f.payload = phx.Payload{Data: rest, Binary: true}
	switch b[0] {
	case 0:
		f.joinRef, f.topic, f.event = fields[0], fields[1], fields[2]
	case 1:
		f.joinRef, f.ref, f.topic, f.status, f.event = fields[0], fields[1], fields[2], fields[3], "phx_reply"
	case 2:
		f.topic, f.event = fields[0], fields[1]
	}
	return nil
}

// refText turns a raw JSON ref into text: a string's contents, "" for null,
// the JSON itself otherwise.
func refText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// encodeMessage builds the V2 frame a phoenix.js client sends for a
// message: a JSON array, or the binary push layout for a binary payload.
func encodeMessage(joinRef, ref, topic, event string, p phx.Payload) ([]byte, bool, error) {
	if p.Binary {
		fields := []string{joinRef, ref, topic, event}
		out := []byte{0}
		for _, s := range fields {
			if len(s) > 255 {
				return nil, false, fmt.Errorf("binary frames limit each field to 255 bytes; %q is %d", s[:40]+"…", len(s))
			}
			out = append(out, byte(len(s)))
		}
		for _, s := range fields {
			out = append(out, s...)
		}
		return append(out, p.Data...), true, nil
	}
	b, err := json.Marshal([]any{joinRef, ref, topic, event, json.RawMessage(p.Data)})
	return b, false, err
}

// Ref identifies a message the test pushed; the reply carries the same ref.
type Ref string

// String returns the ref quoted, as failure messages show it.
func (r Ref) String() string { return strconv.Quote(string(r)) }
