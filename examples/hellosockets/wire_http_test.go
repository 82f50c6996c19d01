package main

// HTTP-level tests of the hello-sockets app: the WebSocket handshake as the
// notes' curl sends it, and the /broadcast endpoint.

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wireNotesCurl is the notes' `curl -i` request (Chrome's "copy as cURL" of
// the socket request, with --compressed's Accept-Encoding), origin left to
// the caller.
func wireNotesCurl(path, origin string) string {
	return "GET " + path + " HTTP/1.1\r\n" +
		"Host: localhost:4000\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.75 Safari/537.36\r\n" +
		"Accept: */*\r\n" +
		"Accept-Encoding: deflate, gzip, br, zstd\r\n" +
		"Pragma: no-cache\r\n" +
		"Origin: " + origin + "\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\n" +
		"Sec-WebSocket-Key: PAlvCbC8VR7NbGH4NmeYPA==\r\n" +
		"Upgrade: websocket\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
		"Cache-Control: no-cache\r\n" +
		"Cookie: _hello_sockets_key=SFMyNTY.g3QAAAABbQAAAAtfY3NyZl90b2tlbm0AAAAYR3ZyTVFURnk3NVA4dXkwR1VFanZhM3Ex.yuPTZBAyJsdtwJWLreroH8mb2tTRK1JKVvabRiYwiHg\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"\r\n"
}

func TestWireHandshake(t *testing.T) {
	const notesPath = "/socket/websocket?token=undefined&vsn=2.0.0"
	h := sha1.Sum([]byte("PAlvCbC8VR7NbGH4NmeYPA==" + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	accept := base64.StdEncoding.EncodeToString(h[:])
	cases := []struct {
		name, request string
		status        int
	}{
		{"notes curl upgrades", wireNotesCurl(notesPath, "http://localhost:4000"), http.StatusSwitchingProtocols},
		{"foreign origin refused", wireNotesCurl(notesPath, "http://evil.example.com"), http.StatusForbidden},
		{"vsn 3.0.0 refused", wireNotesCurl("/socket/websocket?vsn=3.0.0", "http://localhost:4000"), http.StatusForbidden},
		{"vsn 2.1.0 refused", wireNotesCurl("/socket/websocket?vsn=2.1.0", "http://localhost:4000"), http.StatusForbidden},
		{"no vsn is V1", wireNotesCurl("/socket/websocket", "http://localhost:4000"), http.StatusSwitchingProtocols},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := wireServer(t)
			conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), wireWait)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(wireWait))
			if _, err := io.WriteString(conn, tc.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP %s, want %d", resp.Status, tc.status)
			}
			if tc.status != http.StatusSwitchingProtocols {
				// Phoenix: send_resp(conn, 403, "").
				if b, _ := io.ReadAll(resp.Body); len(b) != 0 {
					t.Errorf("403 body %q, want empty", b)
				}
				return
			}
			for k, v := range map[string]string{
				"Upgrade":              "websocket",
				"Connection":           "Upgrade",
				"Sec-Websocket-Accept": accept,
				// phoenix.js asks for no subprotocol here, and Phoenix's
				// websocket has compress: false.
				"Sec-Websocket-Protocol":   "",
				"Sec-Websocket-Extensions": "",
			} {
				if got := resp.Header.Get(k); !strings.EqualFold(got, v) {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestWireDialRefused checks a WebSocket client sees the refusal as HTTP 403.
func TestWireDialRefused(t *testing.T) {
	_, srv := wireServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), wireWait)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, wireURL(srv, "vsn=3.0.0"), nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("vsn=3.0.0 upgraded, want HTTP 403")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("vsn=3.0.0: %v, response %v, want HTTP 403", err, resp)
	}
}

func TestWireBroadcastEndpoint(t *testing.T) {
	cases := []struct {
		method, payload, frame string
	}{
		{http.MethodGet, "", `[null,null,"ping","e",{}]`},
		{http.MethodPost, `{"data":"test"}`, `[null,null,"ping","e",{"data":"test"}]`},
	}
	for _, tc := range cases {
		t.Run(tc.method, func(t *testing.T) {
			_, srv := wireServer(t)
			c := wireDial(t, wireURL(srv, "vsn=2.0.0"))
			wireWrite(t, c, wireNotesJn)
			if got, err := wireRead(c); got != wireJoinOK {
				t.Fatalf("join: got %q (%v), want %s", got, err, wireJoinOK)
			}
			status, body := wireHTTPBroadcast(t, srv, tc.method, "ping", "e", tc.payload)
			if status != http.StatusOK || body != "ok\n" {
				t.Fatalf("%s /broadcast: HTTP %d %q, want 200 \"ok\\n\"", tc.method, status, body)
			}
			if got, err := wireRead(c); got != tc.frame {
				t.Fatalf("got %q (%v), want %s", got, err, tc.frame)
			}
		})
	}
}
