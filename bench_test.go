package phx_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/memconn"
)

// countingSink counts the frames the server writes to an in-memory client
// and signals when a target total is reached.
type countingSink struct {
	n      *atomic.Int64
	want   *atomic.Int64
	reach  chan struct{}
	closed atomic.Int64
}

func (s *countingSink) Frame([]byte, bool) {
	if v := s.n.Add(1); v == s.want.Load() {
		select {
		case s.reach <- struct{}{}:
		default:
		}
	}
}

func (s *countingSink) Closed(code int, _ string) { s.closed.Store(int64(code)) }

// BenchmarkBroadcast measures Socket.Broadcast to 10, 100 and 1,000 joined V2
// subscribers, fastlane included: each iteration is one broadcast, written
// to every subscriber. The subscribers are in-memory connections (the
// transport behind package channeltest), so the figure is the server's own
// cost: encoding once, queueing 1,000 frames and running the writers, with
// no network.
//
// The sub-benchmarks differ only in the number of subscribers: allocs/op
// stays the same, because a broadcast is encoded once and the same bytes
// are queued for everyone.
func BenchmarkBroadcast(b *testing.B) {
	for _, subs := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) { benchBroadcast(b, subs) })
	}
}

func benchBroadcast(b *testing.B, subs int) {
	sock := phx.NewSocket(&phx.SocketOptions{
		Logger:        slog.New(slog.DiscardHandler),
		IdleTimeout:   -1,
		OutboundQueue: 1 << 16,
	})
	sock.Channel("room:*", &roomChannel{})
	var n, want atomic.Int64
	reach := make(chan struct{}, 1)
	wait := func(total int64) {
		want.Store(total)
		deadline := time.NewTimer(timeout)
		defer deadline.Stop()
		for n.Load() < total {
			select {
			case <-reach:
			case <-deadline.C:
				b.Fatalf("only %d of %d frames written after %v", n.Load(), total, timeout)
			}
		}
	}
	conns := make([]memconn.Conn, 0, subs)
	sinks := make([]*countingSink, 0, subs)
	for i := range subs {
		sink := &countingSink{n: &n, want: &want, reach: reach}
		c, err := memconn.Dial(sock, memconn.Options{Params: url.Values{"vsn": {"2.0.0"}}}, sink)
		if err != nil {
			b.Fatal(err)
		}
		ref := fmt.Sprintf(`"%d"`, i)
		for _, f := range []string{`[` + ref + `,` + ref + `,"room:bench","phx_join",{}]`, `[` + ref + `,"p","room:bench","ping",{}]`} {
			if err := c.Send([]byte(f), false); err != nil {
				b.Fatal(err)
			}
		}
		conns = append(conns, c)
		sinks = append(sinks, sink)
	}
	wait(int64(2 * subs)) // every join reply and pong: every session is subscribed
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		_ = sock.Shutdown(context.Background())
	})

	payload := map[string]any{"body": "hello, everyone", "user": 42}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	sent := int64(0)
	for i := 0; i < b.N; i++ {
		if err := sock.Broadcast(ctx, "room:bench", "new_msg", payload); err != nil {
			b.Fatal(err)
		}
		sent++
		if sent%8 == 0 { // let the writers catch up: queues stay short, as in steady traffic
			wait(int64(2*subs) + sent*int64(subs))
		}
	}
	wait(int64(2*subs) + sent*int64(subs))
	b.StopTimer()
	for i, s := range sinks {
		if code := s.closed.Load(); code != 0 {
			b.Fatalf("subscriber %d was closed with %d", i, code)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/frame")
}
