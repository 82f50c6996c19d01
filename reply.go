package phx

import (
	"encoding/json"
	"errors"
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
