package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/phxgo/phx/internal/leakcheck"
	"github.com/phxgo/phx/internal/roomchan"

	"github.com/phxgo/phx"
)

// TestMain fails the package when a test leaves a goroutine running.
func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }

func serve(t *testing.T, h http.Handler) string {
	mux := http.NewServeMux()
	mux.Handle("/socket/", http.StripPrefix("/socket", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket/websocket?vsn=2.0.0"
}

// transcript sends frames on two connections (a and b, both joined) and
// returns every frame each received, in order.
func transcript(t *testing.T, url string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []string
	dial := func() *websocket.Conn {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	a, b := dial(), dial()
	exchange := func(name string, c *websocket.Conn, send string, replies int) {
		if err := c.Write(ctx, websocket.MessageText, []byte(send)); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < replies; i++ {
			_, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("%s after %s: %v", name, send, err)
			}
			out = append(out, name+" "+string(got))
		}
	}
	exchange("a", a, `["1","1","room:lobby","phx_join",{}]`, 1)
	exchange("b", b, `["5","5","room:lobby","phx_join",{"user":"x"}]`, 1)
	exchange("a", a, `[null,"2","phoenix","heartbeat",{}]`, 1)
	exchange("a", a, `["1","3","room:lobby","ping",{"n":1,"ts":1700000000123456789}]`, 1)
	exchange("a", a, `["1","4","room:lobby","shout",{"pad":"xxx","seq":1,"ts":1700000000123456789}]`, 1)
	exchange("b", b, `[null,"6","phoenix","heartbeat",{}]`, 2) // the shout, then the heartbeat reply
	exchange("a", a, `["7","7","room:nope","phx_join",{}]`, 1)
	exchange("a", a, `["8","8","room:other","ping",{}]`, 1)
	return out
}

// TestSameFramesAsPhx checks that the baseline answers the subset byte for
// byte as phx does.
func TestSameFramesAsPhx(t *testing.T) {
	sock := phx.NewSocket(&phx.SocketOptions{Logger: slog.New(slog.DiscardHandler)})
	sock.Channel("room:*", roomchan.Channel{})
	want := transcript(t, serve(t, sock))
	t.Logf("phx:\n%s", strings.Join(want, "\n"))
	s := &server{queue: 16, room: make(map[*conn]struct{})}
	got := transcript(t, serve(t, http.HandlerFunc(s.serve)))
	if len(got) != len(want) {
		t.Fatalf("baseline sent %d frames, phx %d:\n%s\nphx:\n%s", len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d:\nbaseline %s\nphx      %s", i, got[i], want[i])
		}
	}
}

func TestSplit(t *testing.T) {
	p, err := split([]byte(`["1",null,"room:lobby","ping",{"a":["]",{"b":"\"}"}],"c":1}]`))
	if err != nil || string(p[1]) != "null" || string(p[4]) != `{"a":["]",{"b":"\"}"}],"c":1}` {
		t.Fatalf("split: %q, %v", p, err)
	}
	for _, bad := range []string{`[]`, `[1,2,3,4]`, `[1,2,3,4,5,6]`, `[1,,3,4,5]`, `[1,2,3,4,"5]`, `x`} {
		if _, err := split([]byte(bad)); err == nil {
			t.Errorf("split(%q) accepted", bad)
		}
	}
}

// TestSlowConsumerClosed checks drop-and-close: a connection that does not
// read while broadcasts pile up past its queue is closed.
func TestSlowConsumerClosed(t *testing.T) {
	s := &server{queue: 4, room: make(map[*conn]struct{})}
	url := serve(t, http.HandlerFunc(s.serve))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	slow, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	if err := slow.Write(ctx, websocket.MessageText, []byte(`["1","1","room:lobby","phx_join",{}]`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := slow.Read(ctx); err != nil {
		t.Fatal(err)
	}
	pub, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.CloseNow()
	if err := pub.Write(ctx, websocket.MessageText, []byte(`["1","1","room:lobby","phx_join",{}]`)); err != nil {
		t.Fatal(err)
	}
	big := `{"pad":"` + strings.Repeat("x", 16<<10) + `"}`
	members := func() int {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return len(s.room)
	}
	for i := 0; i < 2000 && members() > 0; i++ {
		if pub.Write(ctx, websocket.MessageText, []byte(`["1","`+fmt.Sprint(i+2)+`","room:lobby","shout",`+big+`]`)) != nil {
			break // pub, not reading either, was closed too
		}
	}
	n := members()
	for n > 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		n = members()
	}
	// Neither connection reads its broadcasts: both must have been dropped.
	if n != 0 {
		t.Fatalf("%d slow connections are still in the room", n)
	}
}
