package phx_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

// F-5, B-2, B-3: a broadcast of an event the channel does not intercept goes
// straight to the client as [null,null,topic,event,payload]; an intercepted
// one goes through HandleOut, whose push carries the join_ref.
func TestBroadcastInterception(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, vsn, event, frame string
	}{
		{"fastlane v2", "2.0.0", "plain", `[null,null,"room:1","plain",{"x":1}]`},
		{"intercepted v2", "2.0.0", "intercepted", `["1",null,"room:1","intercepted",{"via":"handle_out","x":1}]`},
		{"fastlane v1", "1.0.0", "plain", `{"event":"plain","payload":{"x":1},"ref":null,"topic":"room:1"}`},
		{"intercepted v1", "1.0.0", "intercepted", `{"event":"intercepted","payload":{"via":"handle_out","x":1},"ref":null,"topic":"room:1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn="+tt.vsn)
			c.joinVsn(tt.vsn)
			c.settle("room:1", `"1"`)
			assert.Success(t, "Broadcast", ts.sock.Broadcast(context.Background(), "room:1", tt.event, map[string]int{"x": 1}))
			c.expect(tt.frame)
			c.roundTrip()
		})
	}
}

// B-1: Session.Broadcast reaches every subscriber of the topic, the sender
// included; BroadcastFrom reaches all but the sender.
func TestBroadcastFrom(t *testing.T) {
	t.Parallel()
	const shout = `[null,null,"room:1","shout",{"m":"hi"}]`
	tests := []struct {
		event      string
		senderGets bool
	}{
		{"broadcast", true},
		{"broadcast_from", false},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			a := ts.dial(t, "vsn=2.0.0")
			b := ts.dial(t, "vsn=2.0.0")
			a.join("room:1", `"1"`)
			b.join("room:1", `"1"`)
			b.settle("room:1", `"1"`)
			a.join("room:2", `"2"`) // another session of the sender's connection, other topic
			a.send(`["1","3","room:1","` + tt.event + `",{"m":"hi"}]`)
			reply := `["1","3","room:1","phx_reply",{"response":{},"status":"ok"}]`
			if tt.senderGets {
				a.expect(shout, reply)
			} else {
				a.expect(reply)
			}
			a.roundTrip()
			b.expect(shout)
			b.roundTrip()
		})
	}
}

// B-2: one broadcast to many subscribers is encoded once per serializer,
// and every subscriber gets the bytes. The encoding counter is global, so
// this test does not run in parallel with others.
func TestFastlaneEncodesOncePerSerializer(t *testing.T) {
	const v2Subs, v1Subs = 50, 5
	ts, _ := roomServer(t, nil)
	var v2, v1 []*wsClient
	for i := range v2Subs {
		c := ts.dial(t, "vsn=2.0.0")
		c.join("room:fast", fmt.Sprintf(`"%d"`, i))
		c.settle("room:fast", fmt.Sprintf(`"%d"`, i))
		v2 = append(v2, c)
	}
	for range v1Subs {
		c := ts.dial(t, "vsn=1.0.0")
		c.send(`{"topic":"room:fast","event":"phx_join","payload":{},"ref":"1"}`)
		c.expect(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:fast"}`)
		c.settle("room:fast", "")
		v1 = append(v1, c)
	}
	before := phx.FastlaneEncodes.Load()
	assert.Success(t, "Broadcast", ts.sock.Broadcast(context.Background(), "room:fast", "news", map[string]int{"n": 1}))
	assert.Equal(t, "fastlane encodings", int64(2), phx.FastlaneEncodes.Load()-before)
	for _, c := range v2 {
		c.expect(`[null,null,"room:fast","news",{"n":1}]`)
	}
	for _, c := range v1 {
		c.expect(`{"event":"news","payload":{"n":1},"ref":null,"topic":"room:fast"}`)
	}
}

// F-3, B-6: broadcast payloads must be JSON objects (or Binary).
func TestBroadcastPayloadMustBeObject(t *testing.T) {
	t.Parallel()
	sock := phx.NewSocket(nil)
	type obj struct {
		A int `json:"a"`
	}
	tests := []struct {
		name    string
		payload any
		ok      bool
	}{
		{"nil", nil, true},
		{"map", map[string]int{"a": 1}, true},
		{"struct", obj{A: 1}, true},
		{"raw object", json.RawMessage(`{"a":1}`), true},
		{"Payload object", phx.Payload{Data: []byte(` {"a":1}`)}, true},
		{"binary", phx.Binary{1, 2}, true},
		{"slice", []int{1}, false},
		{"string", "hello", false},
		{"number", 42, false},
		{"raw array", json.RawMessage(`[1]`), false},
		{"Payload array", phx.Payload{Data: []byte(`[]`)}, false},
		{"raw null", json.RawMessage(`null`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := sock.Broadcast(context.Background(), "room:1", "e", tt.payload)
			if tt.ok {
				assert.Success(t, "Broadcast", err)
			} else {
				assert.ErrorIs(t, "Broadcast", err, phx.ErrNotObject)
			}
		})
	}
}
