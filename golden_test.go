package phx_test

import (
	"context"
	"testing"

	"github.com/coder/websocket"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

// step is one line of a golden transcript: the client sends a frame or the
// server broadcasts, then the listed frames arrive, in order. none: the
// step must produce no frame; closeCode: the connection must then close.
type step struct {
	send      string
	broadcast *phx.Broadcast
	want      []string
	none      bool
	closeCode websocket.StatusCode
}

func bcast(topic, event, payload string) *phx.Broadcast {
	return &phx.Broadcast{Topic: topic, Event: event, Payload: phx.Payload{Data: []byte(payload)}}
}

func replay(t *testing.T, vsn string, steps []step) {
	t.Helper()
	ts := newServer(t, nil, func(s *phx.Socket) {
		s.Channel("ping", pingChannel{})
		s.Channel("wild:*", wildChannel{})
	})
	c := ts.dial(t, "vsn="+vsn)
	for i, st := range steps {
		switch {
		case st.send != "":
			c.send(st.send)
		case st.broadcast != nil:
			b := st.broadcast
			assert.Success(t, "Broadcast", ts.sock.Broadcast(context.Background(), b.Topic, b.Event, b.Payload))
		}
		for j, want := range st.want {
			got := c.read()
			if got != want {
				t.Fatalf("step %d (%s), frame %d:\n want %s\n  got %s", i+1, st.send, j+1, want, got)
			}
		}
		if st.none {
			c.roundTrip()
		}
		if st.closeCode != 0 {
			c.expectClose(st.closeCode)
		}
	}
}

// PROTOCOL.md §15, replayed byte for byte over vsn 2.0.0.
func TestGoldenTranscriptV2(t *testing.T) {
	t.Parallel()
	replay(t, "2.0.0", []step{
		{send: `["1","1","ping","phx_join",{}]`, want: []string{`["1","1","ping","phx_reply",{"response":{},"status":"ok"}]`}},
		{send: `[null,"2","phoenix","heartbeat",{}]`, want: []string{`[null,"2","phoenix","phx_reply",{"response":{},"status":"ok"}]`}},
		{send: `["1","3","ping","ping",{}]`, want: []string{`["1","3","ping","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`}},
		{broadcast: bcast("ping", "test", `{"data":"x"}`), want: []string{`[null,null,"ping","test",{"data":"x"}]`}},
		{broadcast: bcast("ping", "request_ping", `{}`), want: []string{`["1",null,"ping","send_ping",{"from_node":"..."}]`}},
		{send: `["9","9","ping","phx_join",{}]`, want: []string{
			`["9","9","ping","phx_reply",{"response":{},"status":"ok"}]`,
			`["1","1","ping","phx_close",{}]`,
		}},
		{send: `["1","4","ping","ping",{}]`, none: true},
		{send: `["9","5","ping","boom",{}]`, want: []string{`["9","9","ping","phx_error",{"reason":"channel_crash"}]`}},
		{send: `["9","6","ping","ping",{}]`, want: []string{`[null,"6","ping","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`}},
		{send: `["7","7","nope","phx_join",{}]`, want: []string{`[null,"7","nope","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`}},
		{send: `["8","8","wild:1:3","phx_join",{}]`, want: []string{`["8","8","wild:1:3","phx_reply",{"response":{},"status":"error"}]`}},
		{send: `["12","12","wild:1:2","phx_join",{}]`, want: []string{`["12","12","wild:1:2","phx_reply",{"response":{},"status":"ok"}]`}},
		{send: `["10","10","ping","phx_join",{}]`, want: []string{`["10","10","ping","phx_reply",{"response":{},"status":"ok"}]`}},
		{send: `["10","11","ping","phx_leave",{}]`, want: []string{
			`["10","11","ping","phx_reply",{"response":{},"status":"ok"}]`,
			`["10","10","ping","phx_close",{}]`,
		}},
		{send: `crash`, closeCode: websocket.StatusInternalError},
	})
}

// The same conversation over vsn 1.0.0: object frames with sorted keys,
// never a join_ref, ref null on pushes and broadcasts.
func TestGoldenTranscriptV1(t *testing.T) {
	t.Parallel()
	replay(t, "1.0.0", []step{
		{send: `{"topic":"ping","event":"phx_join","payload":{},"ref":"1"}`,
			want: []string{`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"ping"}`}},
		{send: `{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"2"}`,
			want: []string{`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"2","topic":"phoenix"}`}},
		{send: `{"topic":"ping","event":"ping","payload":{},"ref":"3"}`,
			want: []string{`{"event":"phx_reply","payload":{"response":{"ping":"pong"},"status":"ok"},"ref":"3","topic":"ping"}`}},
		{broadcast: bcast("ping", "test", `{"data":"x"}`),
			want: []string{`{"event":"test","payload":{"data":"x"},"ref":null,"topic":"ping"}`}},
		{broadcast: bcast("ping", "request_ping", `{}`),
			want: []string{`{"event":"send_ping","payload":{"from_node":"..."},"ref":null,"topic":"ping"}`}},
		{send: `{"topic":"ping","event":"phx_join","payload":{},"ref":"9"}`, want: []string{
			`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"9","topic":"ping"}`,
			`{"event":"phx_close","payload":{},"ref":"1","topic":"ping"}`,
		}},
		{send: `{"topic":"ping","event":"boom","payload":{},"ref":"5"}`,
			want: []string{`{"event":"phx_error","payload":{"reason":"channel_crash"},"ref":"9","topic":"ping"}`}},
		{send: `{"topic":"ping","event":"ping","payload":{},"ref":"6"}`,
			want: []string{`{"event":"phx_reply","payload":{"response":{"reason":"unmatched topic"},"status":"error"},"ref":"6","topic":"ping"}`}},
		{send: `{"topic":"wild:1:3","event":"phx_join","payload":{},"ref":"8"}`,
			want: []string{`{"event":"phx_reply","payload":{"response":{},"status":"error"},"ref":"8","topic":"wild:1:3"}`}},
		{send: `{"topic":"ping","event":"phx_join","payload":{},"ref":"10"}`,
			want: []string{`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"10","topic":"ping"}`}},
		{send: `{"topic":"ping","event":"phx_leave","payload":{},"ref":"11"}`, want: []string{
			`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"11","topic":"ping"}`,
			`{"event":"phx_close","payload":{},"ref":"10","topic":"ping"}`,
		}},
		{send: `crash`, closeCode: websocket.StatusInternalError},
	})
}
