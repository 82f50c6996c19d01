package wire_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/phxgo/phx/internal/wire"
)

// compact returns the JSON text v with insignificant space removed, or v
// itself when it is not JSON.
func compact(v []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

// roundTrip checks that a decoded message survives encode and decode with
// ser unchanged (the server re-encodes what clients send, e.g. in replies).
func roundTrip(t *testing.T, ser wire.Serializer, m wire.Message, keepJoinRef bool) {
	t.Helper()
	frame, binary, err := ser.Encode(nil, &m)
	if err != nil {
		return // e.g. a binary field over 255 bytes: refused, not mangled
	}
	if binary {
		return // server binary frames have a different layout from client ones
	}
	back, err := ser.Decode(frame, false)
	if err != nil {
		t.Fatalf("re-decoding our own frame %q: %v", frame, err)
	}
	if back.Topic != m.Topic || back.Event != m.Event || compact(back.Payload) != compact(m.Payload) ||
		compact(back.Ref) != compact(m.Ref) || (keepJoinRef && compact(back.JoinRef) != compact(m.JoinRef)) {
		t.Fatalf("round trip changed the message:\n in  %+v\n out %+v\n frame %s", m, back, frame)
	}
}

func FuzzDecodeV2(f *testing.F) {
	for _, s := range []string{
		`["1","1","ping","phx_join",{}]`,
		`[null,"2","phoenix","heartbeat",{}]`,
		`[ "1", "3", "ping", "ping", {"ack_phrase": "hoorays..!"} ]`,
		`[1,2,"t","e",[1,2],"extra"]`,
		`["1","1","ping","phx_join"]`,
		`{"topic":"x"}`,
		`crash`,
		`["1","1",3,"e",{}]`,
		`["\u00e9","<>&","t\"q","e\\",null]`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte{0, 1, 1, 4, 4, '1', '2', 'p', 'i', 'n', 'g', 'p', 'o', 'n', 'g', 0xff}, true)
	f.Add([]byte{0, 9, 1, 1}, true)
	f.Add([]byte{2, 1, 1, 't', 'e'}, true)
	f.Fuzz(func(t *testing.T, frame []byte, binary bool) {
		m, err := wire.V2.Decode(frame, binary)
		if !binary {
			// The hand-written splitter must agree with encoding/json.
			var parts []json.RawMessage
			jerr := json.Unmarshal(frame, &parts)
			// Phoenix's JSON decoder refuses invalid UTF-8; so does Decode.
			if ok := jerr == nil && len(parts) >= 5 && utf8.Valid(frame); ok != (err == nil) {
				t.Fatalf("Decode(%q) error = %v, but encoding/json says %v with %d parts", frame, err, jerr, len(parts))
			}
			if err == nil && compact(m.Payload) != compact(parts[4]) {
				t.Fatalf("payload %q, encoding/json says %q", m.Payload, parts[4])
			}
		}
		if err != nil {
			return
		}
		if binary {
			if !m.Binary {
				t.Fatalf("binary frame decoded as JSON payload: %+v", m)
			}
			return
		}
		if !json.Valid(m.Payload) {
			t.Fatalf("decoded payload is not JSON: %q", m.Payload)
		}
		roundTrip(t, wire.V2, m, true)
	})
}

func FuzzDecodeV1(f *testing.F) {
	for _, s := range []string{
		`{"topic":"ping","event":"phx_join","payload":{},"ref":"1"}`,
		`{"topic":"ping","event":"ping","payload":{},"ref":null,"join_ref":"1"}`,
		`{"topic":"ping","event":"ping","payload":{}}`,
		`["1","1","ping","phx_join",{}]`,
		`{"topic":1,"event":"e","payload":{},"ref":"1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := wire.V1.Decode(frame, false)
		if err != nil {
			return
		}
		roundTrip(t, wire.V1, m, false)
	})
}

// FuzzCanonical checks that Canonical never claims text is canonical when
// Marshal would write it differently.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":[1,2,{"c":null}]}`, `{"b":1,"a":2}`, `{"a": 1}`, `{"a":"\u00e9"}`, `[{"z":1},{"a":2}]`, `{"a":1,"a":2}`, `"x"`, `1.50`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) || !wire.Canonical(b) {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("valid JSON %q did not decode: %v", b, err)
		}
		out, err := wire.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("Canonical(%q) but Marshal writes %q", b, out)
		}
	})
}
