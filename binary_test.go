package phx_test

import (
	"context"
	"testing"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

// PROTOCOL.md §2.3, F-10..F-13: V2 binary frames, byte for byte, both ways.
// Inbound push: kind 0, lengths of join_ref, ref, topic, event, then those
// and the payload. Outbound push: kind 0, lengths of join_ref, topic, event
// (no ref). Reply: kind 1, lengths of join_ref, ref, topic, status.
// Broadcast: kind 2, lengths of topic, event.
func TestBinaryFrames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		act  func(t *testing.T, ts *testServer, c *wsClient)
		text string // the text frame expected, or
		bin  string // the binary frame expected
	}{
		{"client push reaches HandleIn as binary", func(_ *testing.T, _ *testServer, c *wsClient) {
			c.sendBinary([]byte("\x00\x01\x01\x06\x06" + "1" + "2" + "room:1" + "binary" + "\xde\xad\xbe\xef"))
		}, `["1","2","room:1","phx_reply",{"response":{"binary":true,"hex":"deadbeef"},"status":"ok"}]`, ""},
		{"client push with an empty payload", func(_ *testing.T, _ *testServer, c *wsClient) {
			c.sendBinary([]byte("\x00\x01\x02\x06\x06" + "1" + "22" + "room:1" + "binary"))
		}, `["1","22","room:1","phx_reply",{"response":{"binary":true,"hex":""},"status":"ok"}]`, ""},
		{"client heartbeat", func(_ *testing.T, _ *testServer, c *wsClient) {
			c.sendBinary([]byte("\x00\x00\x01\x07\x09" + "" + "7" + "phoenix" + "heartbeat"))
		}, `[null,"7","phoenix","phx_reply",{"response":{},"status":"ok"}]`, ""},
		{"Push of Binary: kind 0, no ref", func(_ *testing.T, _ *testServer, c *wsClient) {
			c.send(`["1","2","room:1","push_binary",{}]`)
		}, "", "\x00\x01\x06\x03" + "1" + "room:1" + "bin" + "\x00\x01\x02\xff"},
		{"binary reply: kind 1 with the status", func(_ *testing.T, _ *testServer, c *wsClient) {
			c.send(`["1","3","room:1","reply_binary",{}]`)
		}, "", "\x01\x01\x01\x06\x02" + "1" + "3" + "room:1" + "ok" + "\x09\x08\x07"},
		{"binary reply to a binary push", func(_ *testing.T, _ *testServer, c *wsClient) {
			c.sendBinary([]byte("\x00\x01\x02\x06\x0c" + "1" + "55" + "room:1" + "reply_binary" + "\x01"))
		}, "", "\x01\x01\x02\x06\x02" + "1" + "55" + "room:1" + "ok" + "\x09\x08\x07"},
		{"binary broadcast: kind 2", func(t *testing.T, ts *testServer, _ *wsClient) {
			assert.Success(t, "Broadcast", ts.sock.Broadcast(context.Background(), "room:1", "bin", phx.Binary{1, 2}))
		}, "", "\x02\x06\x03" + "room:1" + "bin" + "\x01\x02"},
		{"empty binary broadcast", func(t *testing.T, ts *testServer, _ *wsClient) {
			assert.Success(t, "Broadcast", ts.sock.Broadcast(context.Background(), "room:1", "bin", phx.Binary{}))
		}, "", "\x02\x06\x03" + "room:1" + "bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn=2.0.0")
			c.join("room:1", `"1"`)
			c.settle("room:1", `"1"`)
			tt.act(t, ts, c)
			if tt.text != "" {
				c.expect(tt.text)
			} else {
				assert.Equal(t, "binary frame", []byte(tt.bin), c.readBinary())
			}
			c.settle("room:1", `"1"`) // and nothing else
		})
	}
	t.Run("join with a numeric join_ref", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=2.0.0")
		c.send(`[17,17,"room:1","phx_join",{}]`)
		c.expect(`[17,17,"room:1","phx_reply",{"response":{},"status":"ok"}]`)
		c.send(`[17,18,"room:1","push_binary",{}]`)
		assert.Equal(t, "binary frame", []byte("\x00\x02\x06\x03"+"17"+"room:1"+"bin"+"\x00\x01\x02\xff"), c.readBinary())
	})
	t.Run("binary join", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=2.0.0")
		c.sendBinary([]byte("\x00\x01\x01\x06\x08" + "1" + "1" + "room:1" + "phx_join" + "\x00"))
		c.expect(`["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`)
		c.send(`["1","2","room:1","ping",{}]`)
		c.expect(`["1","2","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`)
	})
	t.Run("binary broadcast skips V1 clients", func(t *testing.T) {
		// F-9: V1 cannot carry binary; the V1 subscriber gets nothing and
		// stays connected, the V2 subscriber gets the frame.
		t.Parallel()
		ts, _ := roomServer(t, nil)
		v1 := ts.dial(t, "vsn=1.0.0")
		v2 := ts.dial(t, "vsn=2.0.0")
		v1.send(`{"topic":"room:1","event":"phx_join","payload":{},"ref":"1"}`)
		v1.expect(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:1"}`)
		v1.settle("room:1", "")
		v2.join("room:1", `"1"`)
		v2.settle("room:1", `"1"`)
		assert.Success(t, "Broadcast", ts.sock.Broadcast(context.Background(), "room:1", "bin", phx.Binary{7}))
		assert.Equal(t, "binary frame", []byte("\x02\x06\x03"+"room:1"+"bin"+"\x07"), v2.readBinary())
		v1.roundTrip()
		v1.settle("room:1", "")
	})
}
