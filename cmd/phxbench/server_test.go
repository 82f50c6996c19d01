package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/leakcheck"
	"github.com/phxgo/phx/internal/roomchan"
)

func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }

// phxServer serves the room channel with phx on 127.0.0.1 and returns the
// socket URL phxbench takes.
func phxServer(t testing.TB) string {
	sock := phx.NewSocket(&phx.SocketOptions{Logger: slog.New(slog.DiscardHandler)})
	sock.Channel("room:*", roomchan.Channel{})
	mux := http.NewServeMux()
	mux.Handle("/socket/", http.StripPrefix("/socket", sock))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sock.Shutdown(ctx)
		srv.Close()
	})
	return wsURL(srv)
}

func wsURL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket/websocket?vsn=2.0.0"
}

// fault names one way the fake server misbehaves.
type fault int

const (
	faultNone            fault = iota
	faultDropShout             // one subscriber misses broadcast seq 5
	faultReorderShout          // one subscriber gets broadcasts 3 and 4 swapped
	faultDupShout              // one subscriber gets broadcast 4 twice
	faultWrongEcho             // the 7th ping reply echoes a different payload
	faultWrongRef              // the 7th ping reply carries another ref
	faultNullJoinRef           // the 7th ping reply has join_ref null
	faultJoinError             // the 3rd join is answered with status "error"
	faultBadHeartbeat          // heartbeat replies carry ref "999999"
	faultCloseIdle             // the 2nd connection is closed 100ms after its join
	faultNotJSON               // the 7th ping reply is not JSON
	faultShoutPad              // broadcast seq 6 arrives with a changed pad
	faultShoutWrongTopic       // broadcast seq 2 arrives on room:other
	faultStopShouts            // broadcasts stop after the 10th
	faultNoEcho                // broadcasts skip their sender (broadcast_from)
	faultLeak                  // connections whose client vanished are never closed
)

// fakeServer is a Phoenix Channels server just good enough for phxbench,
// written on coder/websocket, that misbehaves as told: the verifier must
// notice.
type fakeServer struct {
	fault fault
	kept  chan *websocket.Conn // faultLeak: connections never closed

	mu     sync.Mutex
	room   []*fakeConn
	joins  int
	pings  int
	shouts int
}

type fakeConn struct {
	ws      *websocket.Conn
	mu      sync.Mutex // serialises writes
	joinRef []byte
	held    []byte // a broadcast held back to reorder
}

func (c *fakeConn) write(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.Write(context.Background(), websocket.MessageText, b)
}

func newFake(t testing.TB, f fault) string {
	fs := &fakeServer{fault: f, kept: make(chan *websocket.Conn, 10000)}
	srv := httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(func() {
		srv.Close()
		close(fs.kept)
		for ws := range fs.kept {
			ws.CloseNow()
		}
	})
	return wsURL(srv)
}

func (fs *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	if fs.fault == faultLeak {
		fs.kept <- ws // closed only when the test ends
	} else {
		defer ws.CloseNow()
	}
	c := &fakeConn{ws: ws}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	for {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			return
		}
		f, err := parseFrame(msg)
		if err != nil {
			return
		}
		switch {
		case sameString(f.event, evHeartbeat):
			ref := f.ref
			if fs.fault == faultBadHeartbeat {
				ref = []byte(`"999999"`)
			}
			c.write(fakeReply(nil, ref, f.topic, "ok", jsonEmpty))
		case sameString(f.event, evJoin):
			fs.mu.Lock()
			fs.joins++
			n := fs.joins
			status := "ok"
			if fs.fault == faultJoinError && n == 3 {
				status = "error"
			} else {
				fs.room = append(fs.room, c)
			}
			fs.mu.Unlock()
			c.joinRef = bytes.Clone(f.joinRef)
			c.write(fakeReply(f.joinRef, f.ref, f.topic, status, jsonEmpty))
			if fs.fault == faultCloseIdle && n == 2 {
				time.AfterFunc(100*time.Millisecond, func() { ws.Close(websocket.StatusGoingAway, "bye") })
			}
		case sameString(f.event, evPing):
			fs.mu.Lock()
			fs.pings++
			n := fs.pings
			fs.mu.Unlock()
			jr, ref, payload := c.joinRef, f.ref, f.payload
			if n == 7 {
				switch fs.fault {
				case faultWrongEcho:
					payload = []byte(`{"n":0,"ts":0}`)
				case faultWrongRef:
					ref = []byte(`"123456789"`)
				case faultNullJoinRef:
					jr = nil
				case faultNotJSON:
					c.write([]byte("not json"))
					continue
				}
			}
			c.write(fakeReply(jr, ref, f.topic, "ok", payload))
		case sameString(f.event, evShout):
			fs.shout(c, f.topic, f.payload)
		}
	}
}

// shout broadcasts payload from sender, misbehaving towards the first
// subscriber.
func (fs *fakeServer) shout(sender *fakeConn, topic, payload []byte) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.shouts++
	n := fs.shouts
	if fs.fault == faultStopShouts && n > 10 {
		return
	}
	frame := func(topic, p []byte) []byte {
		return fmt.Appendf(nil, `[null,null,%s,"shout",%s]`, topic, p)
	}
	for i, c := range fs.room {
		if fs.fault == faultNoEcho && c == sender {
			continue
		}
		b := frame(topic, payload)
		if i == 0 {
			switch {
			case fs.fault == faultDropShout && n == 5:
				continue
			case fs.fault == faultReorderShout && n == 3:
				c.held = b
				continue
			case fs.fault == faultReorderShout && n == 4:
				c.write(b)
				b = c.held
			case fs.fault == faultDupShout && n == 4:
				c.write(b)
			case fs.fault == faultShoutPad && n == 6:
				b = frame(topic, bytes.Replace(payload, []byte(`"xx`), []byte(`"yx`), 1))
			case fs.fault == faultShoutWrongTopic && n == 2:
				b = frame([]byte(`"room:other"`), payload)
			}
		}
		c.write(b)
	}
}

func fakeReply(joinRef, ref, topic []byte, status string, resp []byte) []byte {
	if joinRef == nil {
		joinRef = jsonNull
	}
	return fmt.Appendf(nil, `[%s,%s,%s,"phx_reply",{"response":%s,"status":%q}]`, joinRef, ref, topic, resp, status)
}
