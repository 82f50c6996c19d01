package phx_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/coder/websocket"

	"github.com/phxgo/phx"
)

// exampleRoom is the channel of the examples: it accepts every join,
// answers "ping" with "pong", greets the joiner after the join, and answers
// "slow" from another goroutine.
type exampleRoom struct{}

func (exampleRoom) Join(_ context.Context, s *phx.Session, topic string, _ phx.Payload) (any, error) {
	if topic == "room:private" {
		return nil, phx.Refuse(map[string]string{"reason": "unauthorized"})
	}
	if topic == "room:welcome" {
		s.Send("after_join") // handled by HandleInfo once the join reply is out
	}
	return nil, nil
}

func (exampleRoom) HandleIn(_ context.Context, s *phx.Session, event string, _ phx.Payload) (phx.Reply, error) {
	switch event {
	case "ping":
		return phx.ReplyOK(map[string]string{"ping": "pong"}), nil
	case "slow":
		ref := s.Ref()
		go func() {
			// ... a slow lookup, then:
			_ = ref.Reply(phx.ReplyOK(map[string]int{"answer": 42}))
		}()
		return phx.NoReply, nil
	}
	return phx.ReplyError(map[string]string{"reason": "unknown event"}), nil
}

func (exampleRoom) HandleInfo(_ context.Context, s *phx.Session, msg any) error {
	return s.Push("welcome", map[string]any{"user_id": s.Assigns["user_id"]})
}

// serve mounts sock at /socket on a test server and returns a function that
// dials it with the query q and one that stops everything.
func serve(sock *phx.Socket) (dial func(q string) *websocket.Conn, stop func()) {
	mux := http.NewServeMux()
	mux.Handle("/socket/", http.StripPrefix("/socket", sock))
	srv := httptest.NewServer(mux)
	var conns []*websocket.Conn
	dial = func(q string) *websocket.Conn {
		url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket/websocket?" + q
		ws, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPClient: srv.Client()})
		if err != nil {
			panic(err)
		}
		conns = append(conns, ws)
		return ws
	}
	stop = func() {
		for _, ws := range conns {
			_ = ws.CloseNow()
		}
		_ = sock.Shutdown(context.Background())
		srv.Close()
	}
	return dial, stop
}

// send writes a text frame.
func send(ws *websocket.Conn, frame string) {
	if err := ws.Write(context.Background(), websocket.MessageText, []byte(frame)); err != nil {
		panic(err)
	}
}

// receive reads a frame and prints it.
func receive(ws *websocket.Conn) {
	_, b, err := ws.Read(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
}

func ExampleNewSocket() {
	sock := phx.NewSocket(&phx.SocketOptions{
		// Connect is Phoenix's connect/3 and id/1: it runs before the
		// WebSocket upgrade, and an error refuses it with HTTP 403.
		Connect: func(_ context.Context, c *phx.Conn) error {
			if c.Params.Get("token") != "secret" {
				return errors.New("bad token")
			}
			c.ID = "user_socket:7"
			c.Assigns = map[string]any{"user_id": 7}
			return nil
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	sock.Channel("room:*", exampleRoom{})
	// Mount it with: http.Handle("/socket/", http.StripPrefix("/socket", sock))
	dial, stop := serve(sock)
	defer stop()

	ws := dial("token=secret&vsn=2.0.0") // what phoenix.js sends
	send(ws, `["1","1","room:lobby","phx_join",{}]`)
	receive(ws)
	send(ws, `["1","2","room:lobby","ping",{}]`)
	receive(ws)
	send(ws, `[null,"3","phoenix","heartbeat",{}]`)
	receive(ws)
	// Output:
	// ["1","1","room:lobby","phx_reply",{"response":{},"status":"ok"}]
	// ["1","2","room:lobby","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]
	// [null,"3","phoenix","phx_reply",{"response":{},"status":"ok"}]
}

// lobby answers every join with its name, to show which pattern won.
type lobby string

func (l lobby) Join(context.Context, *phx.Session, string, phx.Payload) (any, error) {
	return map[string]string{"channel": string(l)}, nil
}

func (lobby) HandleIn(context.Context, *phx.Session, string, phx.Payload) (phx.Reply, error) {
	return phx.NoReply, nil
}

func ExampleSocket_Channel() {
	sock := phx.NewSocket(&phx.SocketOptions{Logger: slog.New(slog.DiscardHandler)})
	sock.Channel("room:*", lobby("any room"))
	sock.Channel("room:lobby", lobby("the lobby")) // exact beats prefix
	dial, stop := serve(sock)
	defer stop()

	ws := dial("vsn=2.0.0")
	for i, topic := range []string{"room:lobby", "room:42", "chat:1"} {
		send(ws, fmt.Sprintf(`["%d","%d",%q,"phx_join",{}]`, i+1, i+1, topic))
		receive(ws)
	}
	// Output:
	// ["1","1","room:lobby","phx_reply",{"response":{"channel":"the lobby"},"status":"ok"}]
	// ["2","2","room:42","phx_reply",{"response":{"channel":"any room"},"status":"ok"}]
	// [null,"3","chat:1","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]
}

func ExampleSocket_Broadcast() {
	sock := phx.NewSocket(&phx.SocketOptions{Logger: slog.New(slog.DiscardHandler)})
	sock.Channel("room:*", exampleRoom{})
	dial, stop := serve(sock)
	defer stop()

	v2, v1 := dial("vsn=2.0.0"), dial("vsn=1.0.0")
	send(v2, `["1","1","room:lobby","phx_join",{}]`)
	receive(v2)
	send(v1, `{"topic":"room:lobby","event":"phx_join","payload":{},"ref":"1"}`)
	receive(v1)

	// From anywhere in the application, e.g. an HTTP handler:
	err := sock.Broadcast(context.Background(), "room:lobby", "new_msg", map[string]string{"body": "hi"})
	if err != nil {
		panic(err)
	}
	receive(v2)
	receive(v1)
	// Output:
	// ["1","1","room:lobby","phx_reply",{"response":{},"status":"ok"}]
	// {"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:lobby"}
	// [null,null,"room:lobby","new_msg",{"body":"hi"}]
	// {"event":"new_msg","payload":{"body":"hi"},"ref":null,"topic":"room:lobby"}
}

func ExampleSession_Push() {
	// exampleRoom.Join calls s.Send("after_join") for room:welcome, and its
	// HandleInfo pushes:
	//
	//	return s.Push("welcome", map[string]any{"user_id": s.Assigns["user_id"]})
	sock := phx.NewSocket(&phx.SocketOptions{
		Connect: func(_ context.Context, c *phx.Conn) error {
			c.Assigns = map[string]any{"user_id": 7}
			return nil
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	sock.Channel("room:*", exampleRoom{})
	dial, stop := serve(sock)
	defer stop()

	ws := dial("vsn=2.0.0")
	send(ws, `["1","1","room:welcome","phx_join",{}]`)
	receive(ws) // the join reply always comes first
	receive(ws) // then the push: join_ref set, ref null
	// Output:
	// ["1","1","room:welcome","phx_reply",{"response":{},"status":"ok"}]
	// ["1",null,"room:welcome","welcome",{"user_id":7}]
}

func ExampleReplyRef_Reply() {
	// exampleRoom.HandleIn answers "slow" later, from another goroutine:
	//
	//	ref := s.Ref()
	//	go func() { _ = ref.Reply(phx.ReplyOK(map[string]int{"answer": 42})) }()
	//	return phx.NoReply, nil
	sock := phx.NewSocket(&phx.SocketOptions{Logger: slog.New(slog.DiscardHandler)})
	sock.Channel("room:*", exampleRoom{})
	dial, stop := serve(sock)
	defer stop()

	ws := dial("vsn=2.0.0")
	send(ws, `["1","1","room:lobby","phx_join",{}]`)
	receive(ws)
	send(ws, `["1","2","room:lobby","slow",{}]`)
	receive(ws) // carries the ref of the "slow" message
	// Output:
	// ["1","1","room:lobby","phx_reply",{"response":{},"status":"ok"}]
	// ["1","2","room:lobby","phx_reply",{"response":{"answer":42},"status":"ok"}]
}
