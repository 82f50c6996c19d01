package wire_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/phxgo/phx/internal/assert"
	"github.com/phxgo/phx/internal/leakcheck"
	"github.com/phxgo/phx/internal/wire"
)

func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }

// msg is a Message with its raw JSON fields as strings, for comparison;
// "<nil>" stands for a nil ref.
type msg struct {
	JoinRef, Ref, Topic, Event, Payload string
	Binary                              bool
}

func show(m wire.Message) msg {
	ref := func(b []byte) string {
		if b == nil {
			return "<nil>"
		}
		return string(b)
	}
	return msg{ref(m.JoinRef), ref(m.Ref), m.Topic, m.Event, string(m.Payload), m.Binary}
}

// F-1, F-2, F-3: V2 text decoding.
func TestDecodeV2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, frame string
		want        msg
	}{
		{"strings", `["1","2","room:1","ping",{"a":1}]`, msg{`"1"`, `"2"`, "room:1", "ping", `{"a":1}`, false}},
		{"null join_ref", `[null,"2","phoenix","heartbeat",{}]`, msg{"<nil>", `"2"`, "phoenix", "heartbeat", `{}`, false}},
		{"null refs", `[null,null,"t","e",{}]`, msg{"<nil>", "<nil>", "t", "e", `{}`, false}},
		{"numbers stay numbers", `[1,22,"t","e",{}]`, msg{`1`, `22`, "t", "e", `{}`, false}},
		{"extra elements ignored", `["1","2","t","e",{},"extra",3]`, msg{`"1"`, `"2"`, "t", "e", `{}`, false}},
		{"payload any JSON", `["1","2","t","e",[1,"x"]]`, msg{`"1"`, `"2"`, "t", "e", `[1,"x"]`, false}},
		{"escaped strings", `["1","2","t\u00e9\"","<e>",{}]`, msg{`"1"`, `"2"`, `té"`, "<e>", `{}`, false}},
		{"spaces", ` [ "1" , "2" , "t" , "e" , {} ] `, msg{`"1"`, `"2"`, "t", "e", `{}`, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := wire.V2.Decode([]byte(tt.frame), false)
			assert.Success(t, "Decode", err)
			assert.Equal(t, "message", tt.want, show(m))
		})
	}
}

// F-2, F-13, M-1: frames V2 cannot decode.
func TestDecodeV2Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		frame  string
		binary bool
	}{
		{"not JSON", `crash`, false},
		{"empty", ``, false},
		{"empty array", `[]`, false},
		{"four elements", `["1","1","t","e"]`, false},
		{"object", `{"topic":"t"}`, false},
		{"string", `"x"`, false},
		{"null", `null`, false},
		{"truncated", `["1","1","t","e",{}`, false},
		{"binary empty", "", true},
		{"binary short header", "\x00\x01\x01\x01", true},
		{"binary kind 1", "\x01\x00\x00\x01\x01te", true},
		{"binary kind 2", "\x02\x00\x00\x01\x01te", true},
		{"binary truncated join_ref", "\x00\x05\x00\x00\x00ab", true},
		{"binary truncated event", "\x00\x00\x00\x01\x05te", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := wire.V2.Decode([]byte(tt.frame), tt.binary)
			assert.ErrorIs(t, "Decode", err, wire.ErrDecode)
		})
	}
}

// §2.3, F-10, F-12: a client binary push has a 5-byte header; refs become
// JSON strings, an empty join_ref the empty string, not null.
func TestDecodeV2Binary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, frame string
		want        msg
	}{
		{"push", "\x00\x01\x01\x04\x04" + "1" + "2" + "ping" + "pong" + "\xff\x00",
			msg{`"1"`, `"2"`, "ping", "pong", "\xff\x00", true}},
		{"empty payload", "\x00\x02\x03\x01\x01" + "12" + "345" + "t" + "e",
			msg{`"12"`, `"345"`, "t", "e", "", true}},
		{"empty join_ref", "\x00\x00\x01\x01\x01" + "" + "2" + "t" + "e" + "{}",
			msg{`""`, `"2"`, "t", "e", "{}", true}},
		{"ref needing escapes", "\x00\x03\x01\x01\x01" + `a"b` + "2" + "t" + "e",
			msg{`"a\"b"`, `"2"`, "t", "e", "", true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := wire.V2.Decode([]byte(tt.frame), true)
			assert.Success(t, "Decode", err)
			assert.Equal(t, "message", tt.want, show(m))
		})
	}
}

// F-7: V1 frames are objects with topic, event, payload and ref, and an
// optional join_ref.
func TestDecodeV1(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, frame string
		want        msg
	}{
		{"without join_ref", `{"topic":"t","event":"e","payload":{"a":1},"ref":"1"}`, msg{"<nil>", `"1"`, "t", "e", `{"a":1}`, false}},
		{"with join_ref", `{"join_ref":"3","topic":"t","event":"e","payload":{},"ref":"4"}`, msg{`"3"`, `"4"`, "t", "e", `{}`, false}},
		{"null ref", `{"topic":"t","event":"e","payload":{},"ref":null}`, msg{"<nil>", "<nil>", "t", "e", `{}`, false}},
		{"numeric ref", `{"topic":"t","event":"e","payload":{},"ref":5}`, msg{"<nil>", `5`, "t", "e", `{}`, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := wire.V1.Decode([]byte(tt.frame), false)
			assert.Success(t, "Decode", err)
			assert.Equal(t, "message", tt.want, show(m))
		})
	}
	errs := []struct {
		name, frame string
		binary      bool
	}{
		{"missing topic", `{"event":"e","payload":{},"ref":"1"}`, false},
		{"missing event", `{"topic":"t","payload":{},"ref":"1"}`, false},
		{"missing payload", `{"topic":"t","event":"e","ref":"1"}`, false},
		{"missing ref", `{"topic":"t","event":"e","payload":{}}`, false},
		{"array", `["1","1","t","e",{}]`, false},
		{"not JSON", `crash`, false},
		{"binary", "\x00\x00\x00\x01\x01te", true},
	}
	for _, tt := range errs {
		t.Run("error "+tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := wire.V1.Decode([]byte(tt.frame), tt.binary)
			assert.ErrorIs(t, "Decode", err, wire.ErrDecode)
		})
	}
}

func refOf(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// F-1, F-4, F-5, F-8, R-4, §2.3: encoding, byte for byte.
func TestEncode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ser     wire.Serializer
		m       wire.Message
		want    string
		binary  bool
		wantErr error
	}{
		{"v2 reply", wire.V2, wire.Message{JoinRef: refOf(`"1"`), Ref: refOf(`"2"`), Topic: "room:1", Status: "ok", Payload: []byte(`{"a":1}`)},
			`["1","2","room:1","phx_reply",{"response":{"a":1},"status":"ok"}]`, false, nil},
		{"v2 reply empty response", wire.V2, wire.Message{Ref: refOf(`7`), Topic: "phoenix", Status: "ok"},
			`[null,7,"phoenix","phx_reply",{"response":{},"status":"ok"}]`, false, nil},
		{"v2 reply any status and response", wire.V2, wire.Message{JoinRef: refOf(`"1"`), Ref: refOf(`"2"`), Topic: "t", Status: "unauthorized", Payload: []byte(`[1]`)},
			`["1","2","t","phx_reply",{"response":[1],"status":"unauthorized"}]`, false, nil},
		{"v2 push", wire.V2, wire.Message{JoinRef: refOf(`"1"`), Topic: "room:1", Event: "e", Payload: []byte(`{"a":1}`)},
			`["1",null,"room:1","e",{"a":1}]`, false, nil},
		{"v2 broadcast", wire.V2, wire.Message{Topic: "room:1", Event: "e"},
			`[null,null,"room:1","e",{}]`, false, nil},
		{"v2 close", wire.V2, wire.Message{JoinRef: refOf(`"1"`), Ref: refOf(`"1"`), Topic: "room:1", Event: "phx_close"},
			`["1","1","room:1","phx_close",{}]`, false, nil},
		{"v2 names escaped, not HTML-escaped", wire.V2, wire.Message{Topic: "a\"b<>&é\n", Event: `\`},
			`[null,null,"a\"b<>&é\n","\\",{}]`, false, nil},
		{"v1 reply never has join_ref", wire.V1, wire.Message{JoinRef: refOf(`"1"`), Ref: refOf(`"2"`), Topic: "room:1", Status: "ok", Payload: []byte(`{"a":1}`)},
			`{"event":"phx_reply","payload":{"response":{"a":1},"status":"ok"},"ref":"2","topic":"room:1"}`, false, nil},
		{"v1 push", wire.V1, wire.Message{JoinRef: refOf(`"1"`), Topic: "room:1", Event: "e", Payload: []byte(`{"a":1}`)},
			`{"event":"e","payload":{"a":1},"ref":null,"topic":"room:1"}`, false, nil},
		{"v1 close", wire.V1, wire.Message{JoinRef: refOf(`"1"`), Ref: refOf(`"1"`), Topic: "room:1", Event: "phx_close"},
			`{"event":"phx_close","payload":{},"ref":"1","topic":"room:1"}`, false, nil},
		{"v1 binary refused", wire.V1, wire.Message{Topic: "t", Event: "e", Payload: []byte{1}, Binary: true},
			"", false, wire.ErrBinaryUnsupported},
		{"binary push: kind 0, no ref", wire.V2, wire.Message{JoinRef: refOf(`"1"`), Topic: "room:1", Event: "bin", Payload: []byte{0, 1}, Binary: true},
			"\x00\x01\x06\x03" + "1" + "room:1" + "bin" + "\x00\x01", true, nil},
		{"binary push, numeric join_ref", wire.V2, wire.Message{JoinRef: refOf(`12`), Topic: "t", Event: "e", Binary: true},
			"\x00\x02\x01\x01" + "12" + "t" + "e", true, nil},
		{"binary reply: kind 1 with status", wire.V2, wire.Message{JoinRef: refOf(`"1"`), Ref: refOf(`"3"`), Topic: "room:1", Status: "ok", Payload: []byte{9}, Binary: true},
			"\x01\x01\x01\x06\x02" + "1" + "3" + "room:1" + "ok" + "\x09", true, nil},
		{"binary reply, null join_ref", wire.V2, wire.Message{Ref: refOf(`"3"`), Topic: "t", Status: "error", Binary: true},
			"\x01\x00\x01\x01\x05" + "" + "3" + "t" + "error", true, nil},
		{"binary broadcast: kind 2", wire.V2, wire.Message{Topic: "room:1", Event: "bin", Payload: []byte{1, 2}, Binary: true},
			"\x02\x06\x03" + "room:1" + "bin" + "\x01\x02", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, bin, err := tt.ser.Encode([]byte("prefix:"), &tt.m)
			if tt.wantErr != nil {
				assert.ErrorIs(t, "Encode", err, tt.wantErr)
				return
			}
			assert.Success(t, "Encode", err)
			assert.Equal(t, "binary", tt.binary, bin)
			assert.Equal(t, "frame", "prefix:"+tt.want, string(got))
		})
	}
}

// §2.3: every string field of a binary frame is at most 255 bytes.
func TestEncodeBinaryFieldLimit(t *testing.T) {
	t.Parallel()
	long, max := strings.Repeat("x", 256), strings.Repeat("x", 255)
	quoted := func(s string) []byte { return []byte(`"` + s + `"`) }
	tests := []struct {
		name string
		m    wire.Message
		ok   bool
	}{
		{"topic 255", wire.Message{Topic: max, Event: "e", Binary: true}, true},
		{"topic 256", wire.Message{Topic: long, Event: "e", Binary: true}, false},
		{"event 256", wire.Message{Topic: "t", Event: long, Binary: true}, false},
		{"push join_ref 256", wire.Message{JoinRef: quoted(long), Topic: "t", Event: "e", Binary: true}, false},
		{"reply ref 256", wire.Message{JoinRef: quoted("1"), Ref: quoted(long), Topic: "t", Status: "ok", Binary: true}, false},
		{"reply status 256", wire.Message{JoinRef: quoted("1"), Ref: quoted("1"), Topic: "t", Status: long, Binary: true}, false},
		{"reply ref 255", wire.Message{JoinRef: quoted("1"), Ref: quoted(max), Topic: "t", Status: "ok", Binary: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _, err := wire.V2.Encode(nil, &tt.m)
			if tt.ok {
				assert.Success(t, "Encode", err)
				assert.True(t, "header holds 255", bytes.IndexByte(f[:5], 255) > 0)
				return
			}
			if err == nil {
				t.Fatalf("Encode succeeded with a 256-byte field: %q", f[:8])
			}
			assert.Contains(t, "error", err.Error(), "255")
		})
	}
}

// F-6: strings are JSON-escaped as Phoenix does: quotes, backslashes and
// control characters, but not <, > or &.
func TestAppendString(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain:topic", `"plain:topic"`},
		{"<script>&amp;</script>", `"<script>&amp;</script>"`},
		{`say "hi"`, `"say \"hi\""`},
		{`back\slash`, `"back\\slash"`},
		{"line\nbreak\ttab\r", `"line\nbreak\ttab\r"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"héllo wörld ✓", `"héllo wörld ✓"`},
		{"\xff", `"\ufffd"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, "AppendString", "x="+tt.want, string(wire.AppendString([]byte("x="), tt.in)))
		})
	}
}

func TestMarshal(t *testing.T) {
	t.Parallel()
	b, err := wire.Marshal(map[string]any{"z": "<&>", "a": []int{1}})
	assert.Success(t, "Marshal", err)
	assert.Equal(t, "Marshal", `{"a":[1],"z":"<&>"}`, string(b))
}

func TestRefs(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, quoted string }{
		{"1", `"1"`},
		{"", `""`},
		{`a"b`, `"a\"b"`},
	}
	for _, tt := range tests {
		assert.Equal(t, "QuoteRef", tt.quoted, string(wire.QuoteRef(tt.text)))
		assert.Equal(t, "RefText", tt.text, wire.RefText([]byte(tt.quoted)))
	}
	assert.Equal(t, "RefText of a number", "12", wire.RefText([]byte("12")))
	assert.Equal(t, "RefText of nil", "", wire.RefText(nil))
}

func BenchmarkDecodeV2(b *testing.B) {
	frame := []byte(`["3","17","room:lobby","new_msg",{"body":"hello, everyone","user":{"id":42,"name":"jo"}}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := wire.V2.Decode(frame, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeV2Reply(b *testing.B) {
	m := wire.Message{
		JoinRef: []byte(`"3"`), Ref: []byte(`"17"`), Topic: "room:lobby", Status: "ok",
		Payload: []byte(`{"body":"hello, everyone","user":{"id":42,"name":"jo"}}`),
	}
	buf, _, err := wire.V2.Encode(nil, &m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, _, err = wire.V2.Encode(buf[:0], &m); err != nil {
			b.Fatal(err)
		}
	}
}
