package phx_test

// Race stress (issue 6): joins, duplicate joins, leaves, pushes,
// broadcasts, Disconnect, hostile and abrupt closes, all at once from many
// goroutines, and then Shutdown in the middle of it. Run with -race: the
// race detector must stay quiet, nothing may deadlock, Shutdown returns nil,
// and the leak check of TestMain finds no goroutine left.

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phxgo/phx"
)

// rbStressOps are the frames a stress client sends; {jr}, {ref} and {t}
// are its join_ref, a fresh ref and the topic.
var rbStressOps = []string{
	`[{jr},{ref},"{t}","phx_join",{}]`,
	`[{jr},{ref},"{t}","phx_join",{"mode":"push"}]`,
	`[{jr},{ref},"{t}","phx_join",{"mode":"panic"}]`,
	`[{jr},{ref},"{t}","phx_leave",{}]`,
	`[{jr},{ref},"{t}","ping",{}]`,
	`[{jr},{ref},"{t}","async",{}]`,
	`[{jr},{ref},"{t}","broadcast",{"n":1}]`,
	`[{jr},{ref},"{t}","broadcast_from",{"n":2}]`,
	`[{jr},{ref},"{t}","push",{"n":3}]`,
	`[{jr},{ref},"{t}","stop",{}]`,
	`[{jr},{ref},"{t}","stop_reply",{}]`,
	`[{jr},{ref},"{t}","panic",{}]`,
	`[{jr},{ref},"{t}","error",{}]`,
	`[null,{ref},"phoenix","heartbeat",{}]`,
	`["stale",{ref},"{t}","ping",{}]`,
}

func rbFill(op string, jr, ref int, topic string) string {
	out := make([]byte, 0, len(op)+16)
	for i := 0; i < len(op); i++ {
		switch {
		case op[i] == '{' && i+3 < len(op) && op[i:i+4] == "{jr}":
			out = append(out, '"')
			out = strconv.AppendInt(out, int64(jr), 10)
			out = append(out, '"')
			i += 3
		case op[i] == '{' && i+4 < len(op) && op[i:i+5] == "{ref}":
			out = append(out, '"')
			out = strconv.AppendInt(out, int64(ref), 10)
			out = append(out, '"')
			i += 4
		case op[i] == '{' && i+2 < len(op) && op[i:i+3] == "{t}":
			out = append(out, topic...)
			i += 2
		default:
			out = append(out, op[i])
		}
	}
	return string(out)
}

func TestRaceStress(t *testing.T) {
	const (
		workers  = 16
		run      = 1500 * time.Millisecond
		nUsers   = 5
		nTopics  = 4
		maxKept  = 3 // connections a worker leaves open for Shutdown
		deadline = 30 * time.Second
	)
	ts := rbServer(t, &phx.SocketOptions{
		Connect: func(_ context.Context, c *phx.Conn) error {
			c.ID = c.Params.Get("user")
			return nil
		},
	}, func(s *phx.Socket) { s.Channel("room:*", &roomChannel{}) }, rbServerOpts{quiet: true})
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	stop := make(chan struct{}) // closed when Shutdown starts
	// The broadcasters and the disconnecter act once per ticket, which the
	// clients hand out as they send: they keep pace without spinning.
	tickets := make(chan struct{}, 64)
	var conns, ops, dials atomic.Int64
	var all sync.WaitGroup // every goroutine of the test
	for w := range workers {
		all.Add(1)
		go func() {
			defer all.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			kept := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				user := "u" + strconv.Itoa(rng.IntN(nUsers))
				c, err := rbRawDial(ctx, ts, "user="+user+"&vsn=2.0.0", 0)
				dials.Add(1)
				if err != nil {
					continue // 503 while shutting down, or a dial racing it
				}
				conns.Add(1)
				c.deadline(time.Now().Add(deadline))
				all.Add(1)
				go func() { // reader: drains until the connection ends
					defer all.Done()
					for {
						if _, _, err := c.next(); err != nil {
							return
						}
					}
				}()
				jr := map[string]int{}
				n := 5 + rng.IntN(40)
				for i := range n {
					topic := "room:" + strconv.Itoa(rng.IntN(nTopics))
					op := rbStressOps[rng.IntN(len(rbStressOps))]
					if strings.Contains(op, "phx_join") {
						jr[topic] = i + 1 // a join, or a duplicate join (J-9)
					}
					if c.send(rbFill(op, jr[topic], i+1, topic)) != nil {
						break
					}
					ops.Add(1)
					select {
					case tickets <- struct{}{}:
					default:
					}
				}
				switch rng.IntN(5) {
				case 0:
					c.close() // abrupt
				case 1:
					_ = c.send(`crash`) // 1011
				case 2:
					_ = c.writeFrame(0x8, []byte{0x03, 0xe8}) // client close 1000
				default:
					if kept < maxKept {
						kept++ // left to Disconnect and Shutdown
						continue
					}
					c.close()
				}
			}
		}()
	}
	for b := range 2 {
		all.Add(1)
		go func() {
			defer all.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tickets:
				}
				event := "tick"
				if i%3 == 0 {
					event = "intercepted" // HandleOut on every session
				}
				_ = ts.sock.Broadcast(ctx, "room:"+strconv.Itoa(i%nTopics), event, map[string]int{"b": b, "i": i})
			}
		}()
	}
	var disconnects atomic.Int64
	all.Add(1)
	go func() {
		defer all.Done()
		for i := 0; ; i++ {
			for range 20 { // one Disconnect per 20 frames sent
				select {
				case <-stop:
					return
				case <-tickets:
				}
			}
			_ = ts.sock.Disconnect(ctx, "u"+strconv.Itoa(i%nUsers))
			disconnects.Add(1)
		}
	}()

	// Let it run, then shut down in the middle of it.
	timer := time.NewTimer(run)
	<-timer.C
	open := ts.sock.Stats().Connections
	shutCtx, shutCancel := context.WithTimeout(ctx, 10*time.Second)
	defer shutCancel()
	start := time.Now()
	shutErr := make(chan error, 1)
	go func() { shutErr <- ts.sock.Shutdown(shutCtx) }()
	close(stop)
	var err error
	select {
	case err = <-shutErr:
	case <-ctx.Done():
		t.Fatalf("Shutdown did not return within %v; goroutines:\n%.64000s", deadline, rbStacks())
	}
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Shutdown: %v with %d connections left; goroutines:\n%.64000s", err, ts.sock.Stats().Connections, rbStacks())
	}
	done := make(chan struct{})
	go func() { all.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("the test's goroutines did not end within %v after Shutdown; goroutines:\n%.64000s", deadline, rbStacks())
	}
	stats := ts.sock.Stats()
	t.Logf("%d workers: %d dials, %d connections, %d frames sent, %d Disconnect calls; Shutdown of %d open connections took %v; Stats %+v",
		workers, dials.Load(), conns.Load(), ops.Load(), disconnects.Load(), open, took.Round(time.Millisecond), stats)
	if stats.Connections != 0 {
		t.Errorf("Stats().Connections = %d after Shutdown, want 0", stats.Connections)
	}
}
