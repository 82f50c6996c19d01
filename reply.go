package phx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/phxgo/phx/internal/wire"
)

// Reply is the outcome of HandleIn that the client sees as phx_reply. The
// zero Reply (NoReply) sends nothing, Phoenix's {:noreply, socket}.
type Reply struct {
	// Status is the reply status the client dispatches on: "ok", "error", or
	// any other string.
	Status string
	// Payload is the response: any JSON-encodable value, a Payload, a
	// json.RawMessage, or Binary. nil sends {}.
	Payload any
}

// NoReply sends nothing back.
var NoReply Reply

// ReplyOK returns Reply{Status: "ok", Payload: payload}.
func ReplyOK(payload any) Reply { return Reply{Status: "ok", Payload: payload} }

// ReplyError returns Reply{Status: "error", Payload: payload}.
func ReplyError(payload any) Reply { return Reply{Status: "error", Payload: payload} }

// Payload is a message body as it arrived: JSON text, or raw bytes when the
// client sent a binary frame.
type Payload struct {
	Data   []byte // JSON text, or raw bytes when Binary
	Binary bool
}

// Decode unmarshals a JSON payload into v. It fails on a binary payload.
func (p Payload) Decode(v any) error {
	if p.Binary {
		return errors.New("phx: cannot JSON-decode a binary payload; read Payload.Data instead")
	}
	if len(p.Data) == 0 {
		return json.Unmarshal([]byte("{}"), v)
	}
	return json.Unmarshal(p.Data, v)
}

// MarshalJSON returns the JSON text of the payload, so a Payload can be
// pushed or replied as it came. A binary payload fails.
func (p Payload) MarshalJSON() ([]byte, error) {
	if p.Binary {
		return nil, errors.New("phx: a binary payload has no JSON form; send it as phx.Binary")
	}
	if len(p.Data) == 0 {
		return []byte("{}"), nil
	}
	return p.Data, nil
}

// Binary is an outgoing payload sent as raw bytes in a V2 binary frame
// (Phoenix's {:binary, data}). V1 clients cannot receive it.
type Binary []byte

// toPayload turns a user value into a Payload. object requires a JSON object
// or Binary, as pushes and broadcasts do; nil becomes {}.
func toPayload(v any, object bool) (Payload, error) {
	var p Payload
	switch x := v.(type) {
	case nil:
		return Payload{Data: []byte("{}")}, nil
	case Binary:
		return Payload{Data: x, Binary: true}, nil
	case Payload:
		if x.Binary {
			return x, nil
		}
		return canonical(x.Data, object)
	case *Payload:
		return toPayload(*x, object)
	case json.RawMessage:
		return canonical(x, object)
	default:
		b, err := wire.Marshal(v)
		if err != nil {
			return Payload{}, err
		}
		p = Payload{Data: b}
	}
	if !p.Binary && len(bytes.TrimSpace(p.Data)) == 0 {
		p.Data = []byte("{}")
	}
	if object && !p.Binary {
		if t := bytes.TrimSpace(p.Data); t[0] != '{' {
			return Payload{}, ErrNotObject
		}
	}
	return p, nil
}

// canonical re-encodes JSON text the way Phoenix's encoder writes what it
// decoded: no insignificant space, object keys sorted. A client payload
// echoed back, or a raw JSON body broadcast, then reads byte for byte as
// Phoenix would send it.
func canonical(data []byte, object bool) (Payload, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Payload{Data: []byte("{}")}, nil
	}
	if wire.Canonical(data) && json.Valid(data) {
		if object && data[0] != '{' {
			return Payload{}, ErrNotObject
		}
		return Payload{Data: data}, nil // already as Phoenix would write it
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Payload{}, fmt.Errorf("phx: payload is not valid JSON: %w", err)
	}
	if _, isObj := v.(map[string]any); object && !isObj {
		return Payload{}, ErrNotObject
	}
	b, err := wire.Marshal(v)
	if err != nil {
		return Payload{}, err
	}
	return Payload{Data: b}, nil
}
