package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWSClientAgainstCoder talks to a coder/websocket server: messages of
// every length encoding both ways, a fragmented message, a ping that must be
// answered, and a close code.
func TestWSClientAgainstCoder(t *testing.T) {
	pinged := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ws.SetReadLimit(1 << 20)
		ctx := r.Context()
		for _, n := range []int{0, 125, 126, 65535, 65536, 200000} {
			_, msg, err := ws.Read(ctx) // echo what the client sent
			if err != nil || len(msg) != n {
				return
			}
			if ws.Write(ctx, websocket.MessageText, msg) != nil {
				return
			}
		}
		wr, _ := ws.Writer(ctx, websocket.MessageText)
		wr.Write([]byte("frag"))
		wr.Write([]byte("mented"))
		wr.Close()
		go func() { // Ping needs a concurrent reader for the pong
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			pinged <- ws.Ping(ctx)
		}()
		_, msg, err := ws.Read(ctx)
		if err == nil && string(msg) == "after ping" {
			ws.Close(4001, "bye")
		}
	}))
	defer srv.Close()
	u, _ := url.Parse("ws" + strings.TrimPrefix(srv.URL, "http") + "/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w, err := dialWS(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	var out []byte
	noPong := func([]byte) error { return errors.New("unexpected ping") }
	for _, n := range []int{0, 125, 126, 65535, 65536, 200000} {
		payload := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		out = w.appendFrame(out[:0], opText, payload)
		if err := w.write(out); err != nil {
			t.Fatal(err)
		}
		op, msg, err := w.readMessage(noPong)
		if err != nil || op != opText || !bytes.Equal(msg, payload) {
			t.Fatalf("%d bytes: op %d, %d bytes back, %v", n, op, len(msg), err)
		}
	}
	if _, msg, err := w.readMessage(noPong); err != nil || string(msg) != "fragmented" {
		t.Fatalf("fragmented message: %q, %v", msg, err)
	}
	pong := func(p []byte) error { return w.write(w.appendFrame(nil, opPong, p)) }
	go func() {
		if err := <-pinged; err == nil {
			_ = w.write(w.appendFrame(nil, opText, []byte("after ping")))
		}
	}()
	_, _, err = w.readMessage(pong)
	var ce *closeError
	if !errors.As(err, &ce) || ce.code != 4001 || ce.reason != "bye" {
		t.Fatalf("after the ping: %v, want close 4001 bye", err)
	}
}

// TestWSClientRejects feeds frames a server must not send.
func TestWSClientRejects(t *testing.T) {
	for name, raw := range map[string][]byte{
		"masked":               {0x81, 0x81, 1, 2, 3, 4, 'x'},
		"reserved bits":        {0xC1, 0x01, 'x'},
		"unknown opcode":       {0x83, 0x01, 'x'},
		"continuation first":   {0x80, 0x01, 'x'},
		"fragmented control":   {0x09, 0x00},
		"text inside fragment": {0x01, 0x01, 'x', 0x81, 0x01, 'y'},
		"too large":            {0x81, 127, 0, 0, 0, 0, 0x10, 0, 0, 0},
	} {
		w := &wsConn{br: bufio.NewReader(bytes.NewReader(raw))}
		if _, _, err := w.readMessage(func([]byte) error { return nil }); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFrameBuffered(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	w := &wsConn{br: bufio.NewReader(c1)}
	go c2.Write([]byte{0x81, 126, 0, 200}) // header of a 200-byte frame, no payload yet
	if _, err := w.br.Peek(4); err != nil {
		t.Fatal(err)
	}
	if w.frameBuffered() {
		t.Fatal("a frame without its payload counts as buffered")
	}
	go c2.Write(make([]byte, 200))
	if _, err := w.br.Peek(204); err != nil {
		t.Fatal(err)
	}
	if !w.frameBuffered() {
		t.Fatal("a whole frame does not count as buffered")
	}
}

func TestHandshakeRefused(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"403": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) },
		"bad accept": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Upgrade", "websocket")
			w.Header().Set("Connection", "Upgrade")
			w.Header().Set("Sec-WebSocket-Accept", "nope")
			w.WriteHeader(http.StatusSwitchingProtocols)
		},
	} {
		srv := httptest.NewServer(h)
		u, _ := url.Parse("ws" + strings.TrimPrefix(srv.URL, "http") + "/")
		if w, err := dialWS(context.Background(), u); err == nil {
			w.close()
			t.Errorf("%s: handshake accepted", name)
		}
		srv.Close()
	}
}
