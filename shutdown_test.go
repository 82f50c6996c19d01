package phx_test

// Graceful shutdown under load (issue 6, PROTOCOL.md §7.4): Shutdown drains
// thousands of joined connections with 1012 within its deadline, delivers
// every frame queued before it, and leaves no goroutine behind.

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/phxgo/phx"
)

// rbHeld is a push waiting for its reply: the connection's number (from
// its Assigns) and the handle to answer it.
type rbHeld struct {
	i   int
	ref phx.ReplyRef
}

// rbHoldChannel parks the ReplyRef of every "hold" push in refs; the test
// answers them later from its own goroutine.
type rbHoldChannel struct {
	refs chan rbHeld
}

func (rbHoldChannel) Join(context.Context, *phx.Session, string, phx.Payload) (any, error) {
	return nil, nil
}

func (h rbHoldChannel) HandleIn(_ context.Context, s *phx.Session, event string, _ phx.Payload) (phx.Reply, error) {
	if event != "hold" {
		return phx.NoReply, fmt.Errorf("unexpected event %q", event)
	}
	h.refs <- rbHeld{i: s.Assigns["i"].(int), ref: s.Ref()}
	return phx.NoReply, nil
}

// 2,000 joined WebSocket connections, 400 of them waiting for a reply that
// the server produces just before Shutdown and 200 waiting for one it
// produces while Shutdown runs. Shutdown must close every connection with
// 1012 within its deadline; every reply produced before Shutdown, and a
// broadcast published just before it, must arrive before the 1012; a reply
// produced during the drain may arrive (before the 1012) or not; no
// goroutine may be left.
func TestShutdownUnderLoad(t *testing.T) {
	const (
		nConns   = 2000
		nHeld    = 400 // replied to just before Shutdown
		nLate    = 200 // replied to while Shutdown runs
		nTopics  = 20
		dialers  = 16
		deadline = 10 * time.Second
	)
	refs := make(chan rbHeld, nHeld+nLate)
	ts := rbServer(t, &phx.SocketOptions{
		Connect: func(_ context.Context, c *phx.Conn) error {
			i, err := strconv.Atoi(c.Params.Get("i"))
			c.Assigns = map[string]any{"i": i}
			return err
		},
	}, func(s *phx.Socket) { s.Channel("hold:*", rbHoldChannel{refs: refs}) }, rbServerOpts{quiet: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := runtime.NumGoroutine() // the test's, and the HTTP server's accept loop

	conns := make([]*rbRaw, nConns)
	topic := func(i int) string { return "hold:" + strconv.Itoa(i%nTopics) }
	var errs rbErrs
	var wg sync.WaitGroup
	start := time.Now()
	for d := range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := d; i < nConns; i += dialers {
				c, err := rbRawDialSized(ctx, ts, "i="+strconv.Itoa(i)+"&vsn=2.0.0", 0, 512)
				if err != nil {
					errs.add(fmt.Errorf("connection %d: %w", i, err))
					return
				}
				conns[i] = c
				c.deadline(time.Now().Add(time.Minute))
				if err := c.join(topic(i), `"1"`); err != nil {
					errs.add(fmt.Errorf("connection %d: %w", i, err))
					return
				}
				if i < nHeld+nLate {
					errs.add(c.send(`["1","h","` + topic(i) + `","hold",{}]`))
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			t.Cleanup(c.close)
		}
	}
	errs.check(t, "connecting")
	dialTook := time.Since(start)
	// The replies are produced for connections 0 to nHeld-1 before
	// Shutdown, and for the next nLate while it runs.
	held := make([]phx.ReplyRef, nHeld+nLate)
	for n := range nHeld + nLate {
		select {
		case h := <-refs:
			held[h.i] = h.ref
		case <-time.After(timeout):
			t.Fatalf("%d of %d holds reached the channel", n, nHeld+nLate)
		}
	}
	if n := ts.sock.Stats().Connections; n != nConns {
		t.Fatalf("%d connections open, want %d", n, nConns)
	}

	// Each client reads until the close and reports what it saw.
	type outcome struct {
		reply, final bool
		code         int
		err          error
	}
	outcomes := make([]outcome, nConns)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &outcomes[i]
			reply := `["1","h","` + topic(i) + `","phx_reply",{"response":{},"status":"ok"}]`
			final := `[null,null,"` + topic(i) + `","final",{}]`
			for {
				f, err := c.read()
				switch {
				case err != nil:
					o.code = rbCloseCode(err)
					if o.code != 1012 {
						o.err = err
					}
					return
				case f == reply && i < nHeld && !o.reply && !o.final:
					o.reply = true // produced before the broadcast
				case f == final && !o.final:
					o.final = true
				case f == reply && i >= nHeld && i < nHeld+nLate && o.final && !o.reply:
					o.reply = true // produced after it, during the drain
				default:
					o.err = fmt.Errorf("unexpected frame %s (reply seen %v, final seen %v)", f, o.reply, o.final)
					return
				}
			}
		}()
	}

	// Just before Shutdown: the replies to the first nHeld holds, from this
	// goroutine, and a broadcast on every topic. Then Shutdown, while
	// another goroutine produces the late replies.
	for _, r := range held[:nHeld] {
		if err := r.Reply(phx.ReplyOK(nil)); err != nil {
			t.Fatal(err)
		}
	}
	for k := range nTopics {
		if err := ts.sock.Broadcast(ctx, topic(k), "final", nil); err != nil {
			t.Fatal(err)
		}
	}
	shutCtx, shutCancel := context.WithTimeout(ctx, deadline)
	defer shutCancel()
	late := make(chan struct{})
	go func() {
		defer close(late)
		for _, r := range held[nHeld:] {
			_ = r.Reply(phx.ReplyOK(nil)) // the connection may be closing
		}
	}()
	start = time.Now()
	err := ts.sock.Shutdown(shutCtx)
	took := time.Since(start)
	<-late
	if err != nil {
		t.Fatalf("Shutdown: %v after %v with %d connections left", err, took, ts.sock.Stats().Connections)
	}
	wg.Wait()

	lateReplies := 0
	for i, o := range outcomes {
		switch {
		case o.err != nil:
			errs.add(fmt.Errorf("connection %d: %w", i, o.err))
		case !o.final:
			errs.add(fmt.Errorf("connection %d: closed with 1012 before the broadcast published before Shutdown", i))
		case i < nHeld && !o.reply:
			errs.add(fmt.Errorf("connection %d: closed with 1012 before the reply produced before Shutdown", i))
		case i >= nHeld && o.reply:
			lateReplies++
		}
	}
	errs.check(t, "draining")
	after := rbSettleGoroutines(before, timeout)
	t.Logf("%d connections dialled and joined in %v; Shutdown drained them with 1012 in %v (deadline %v); %d replies produced before Shutdown all arrived, %d of %d produced during it; goroutines %d before, %d after",
		nConns, dialTook.Round(time.Millisecond), took.Round(time.Millisecond), deadline, nHeld, lateReplies, nLate, before, after)
	if n := ts.sock.Stats().Connections; n != 0 {
		t.Errorf("%d connections left after Shutdown", n)
	}
	if after > before {
		t.Errorf("%d goroutines after Shutdown, %d before the first connection:\n%.32000s", after, before, rbStacks())
	}
}
