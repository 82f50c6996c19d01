package phx_test

// Crash isolation under load (issue 6, PROTOCOL.md J-13): channels that
// panic or fail on every event, hammered, while healthy topics on the same
// connections and on others keep every broadcast, in order, and every reply.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phxgo/phx"
)

// rbCrashChannel joins, then panics on every event.
type rbCrashChannel struct{}

func (rbCrashChannel) Join(context.Context, *phx.Session, string, phx.Payload) (any, error) {
	return nil, nil
}

func (rbCrashChannel) HandleIn(context.Context, *phx.Session, string, phx.Payload) (phx.Reply, error) {
	panic("rbCrashChannel: crash on every event")
}

// rbFailChannel joins, then fails every event with an error.
type rbFailChannel struct{}

func (rbFailChannel) Join(context.Context, *phx.Session, string, phx.Payload) (any, error) {
	return nil, nil
}

func (rbFailChannel) HandleIn(context.Context, *phx.Session, string, phx.Payload) (phx.Reply, error) {
	return phx.ReplyOK(nil), errors.New("rbFailChannel: failing every event")
}

// rbCrashJoinChannel panics in Join.
type rbCrashJoinChannel struct{}

func (rbCrashJoinChannel) Join(context.Context, *phx.Session, string, phx.Payload) (any, error) {
	panic("rbCrashJoinChannel: crash on join")
}

func (rbCrashJoinChannel) HandleIn(context.Context, *phx.Session, string, phx.Payload) (phx.Reply, error) {
	return phx.NoReply, nil
}

// rbPeer is a connection of the crash test: a reader goroutine checks the
// healthy topic's broadcasts and hands every other frame to the driver.
type rbPeer struct {
	c       *rbRaw
	frames  chan string
	healthy bool         // joined to the healthy topic
	seqs    atomic.Int64 // healthy broadcasts received, in order
	jr      int          // the last join_ref used
}

// next returns the next frame that is not a healthy broadcast.
func (p *rbPeer) next() (string, error) {
	select {
	case f, ok := <-p.frames:
		if !ok {
			return "", errors.New("the connection ended")
		}
		return f, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("no frame within %v", timeout)
	}
}

// ask sends frame and expects want as the next frame that is not a
// healthy broadcast.
func (p *rbPeer) ask(frame, want string) error {
	if err := p.c.send(frame); err != nil {
		return err
	}
	got, err := p.next()
	if err != nil {
		return fmt.Errorf("after %s, want %s: %w", frame, want, err)
	}
	if got != want {
		return fmt.Errorf("after %s:\n got %s\nwant %s", frame, got, want)
	}
	return nil
}

// joinTopic joins topic with a fresh join_ref, as phoenix.js rejoins.
func (p *rbPeer) joinTopic(topic string) (string, error) {
	p.jr++
	jr := `"` + strconv.Itoa(p.jr) + `"`
	return jr, p.ask(`[`+jr+`,`+jr+`,"`+topic+`","phx_join",{}]`, `[`+jr+`,`+jr+`,"`+topic+`","phx_reply",{"response":{},"status":"ok"}]`)
}

// crashOnce joins topic, pushes an event that crashes its channel, and
// expects phx_error (the client then rejoins, as phoenix.js does), after
// the ok reply when the channel returned one with its error.
func (p *rbPeer) crashOnce(topic string, withReply bool) error {
	jr, err := p.joinTopic(topic)
	if err != nil {
		return err
	}
	crashed := `[` + jr + `,` + jr + `,"` + topic + `","phx_error",{"reason":"channel_crash"}]`
	if !withReply {
		return p.ask(`[`+jr+`,"x","`+topic+`","any",{}]`, crashed)
	}
	if err := p.ask(`[`+jr+`,"x","`+topic+`","any",{}]`, `[`+jr+`,"x","`+topic+`","phx_reply",{"response":{},"status":"ok"}]`); err != nil {
		return err
	}
	got, err := p.next()
	if err == nil && got != crashed {
		err = fmt.Errorf("after the reply:\n got %s\nwant %s", got, crashed)
	}
	return err
}

// Channels that panic or fail on every event, and one whose Join panics,
// are hammered from 20 connections, 10 of which are also joined to a
// healthy topic, while 10 more connections use only the healthy topic and
// 1,000 broadcasts go to it: every healthy session receives every broadcast
// in order and every reply to its pushes; each crash is answered as
// Phoenix does (phx_error, or "join crashed") and counted.
func TestCrashIsolationUnderLoad(t *testing.T) {
	const (
		nMixed   = 10 // healthy topic plus crashing ones
		nCrasher = 10 // crashing topics only
		nHealthy = 10 // healthy topic only
		nB       = 1000
		okTopic  = "room:ok"
	)
	ts := rbServer(t, nil, func(s *phx.Socket) {
		s.Channel("room:*", &roomChannel{})
		s.Channel("crash:*", rbCrashChannel{})
		s.Channel("fail:*", rbFailChannel{})
		s.Channel("crashjoin:*", rbCrashJoinChannel{})
	}, rbServerOpts{quiet: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var errs rbErrs
	var readers sync.WaitGroup
	peers := make([]*rbPeer, nMixed+nCrasher+nHealthy)
	for i := range peers {
		c, err := rbRawDial(ctx, ts, "vsn=2.0.0", 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.close)
		c.deadline(time.Now().Add(time.Minute))
		p := &rbPeer{c: c, frames: make(chan string, 16), healthy: i < nMixed || i >= nMixed+nCrasher}
		peers[i] = p
		readers.Add(1)
		go func() {
			defer readers.Done()
			defer close(p.frames)
			for {
				f, err := c.read()
				if err != nil {
					errs.add(fmt.Errorf("connection %d after %d broadcasts: %w", i, p.seqs.Load(), err))
					return
				}
				if f == rbSeqFrame(false, okTopic, "tick", int(p.seqs.Load())) {
					p.seqs.Add(1)
					continue
				}
				p.frames <- f
				if f == `[null,"end","phoenix","phx_reply",{"response":{},"status":"ok"}]` {
					return
				}
			}
		}()
		if p.healthy {
			if _, err := p.joinTopic(okTopic); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
		}
	}

	// A failure cancels ctx, which unblocks the readers.
	stopReaders := context.AfterFunc(ctx, func() {
		for _, p := range peers {
			p.c.close()
		}
	})
	defer stopReaders()

	// One broadcast per round of any driver, until nB went out.
	rounds := make(chan struct{}, 64)
	published := make(chan struct{})
	go func() {
		defer close(published)
		for seq := range nB {
			select {
			case <-rounds:
			case <-ctx.Done():
				return
			}
			errs.add(ts.sock.Broadcast(ctx, okTopic, "tick", map[string]int{"seq": seq}))
		}
	}()

	var crashes atomic.Int64
	var pings atomic.Int64
	var drivers sync.WaitGroup
	start := time.Now()
	for i, p := range peers {
		drivers.Add(1)
		go func() {
			defer drivers.Done()
			crashing := i < nMixed+nCrasher
			n := strconv.Itoa(i)
			for r := 0; ; r++ {
				select {
				case <-published:
				case <-ctx.Done():
				default:
					if crashing {
						if err := p.crashOnce("crash:"+n, false); err != nil {
							errs.add(fmt.Errorf("connection %d, crash channel: %w", i, err))
							cancel()
							return
						}
						if err := p.crashOnce("fail:"+n, true); err != nil {
							errs.add(fmt.Errorf("connection %d, failing channel: %w", i, err))
							cancel()
							return
						}
						p.jr++
						jr := `"` + strconv.Itoa(p.jr) + `"`
						if err := p.ask(`[`+jr+`,`+jr+`,"crashjoin:`+n+`","phx_join",{}]`,
							`[`+jr+`,`+jr+`,"crashjoin:`+n+`","phx_reply",{"response":{"reason":"join crashed"},"status":"error"}]`); err != nil {
							errs.add(fmt.Errorf("connection %d, crashing join: %w", i, err))
							cancel()
							return
						}
						crashes.Add(3)
					}
					if p.healthy {
						ref := strconv.Itoa(r)
						if err := p.ask(`["1","`+ref+`","`+okTopic+`","ping",{}]`,
							`["1","`+ref+`","`+okTopic+`","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`); err != nil {
							errs.add(fmt.Errorf("connection %d, healthy topic: %w", i, err))
							cancel()
							return
						}
						pings.Add(1)
					}
					select {
					case rounds <- struct{}{}:
					default:
					}
					continue
				}
				break
			}
			if ctx.Err() != nil {
				return
			}
			// Every broadcast was queued before this reply.
			if err := p.ask(`[null,"end","phoenix","heartbeat",{}]`, `[null,"end","phoenix","phx_reply",{"response":{},"status":"ok"}]`); err != nil {
				errs.add(fmt.Errorf("connection %d at the end: %w", i, err))
			}
		}()
	}
	drivers.Wait()
	took := time.Since(start)
	readers.Wait()
	errs.check(t, "crash isolation")

	for i, p := range peers {
		want := int64(0)
		if p.healthy {
			want = nB
		}
		if got := p.seqs.Load(); got != want {
			t.Errorf("connection %d received %d healthy broadcasts, want %d", i, got, want)
		}
	}
	stats := ts.sock.Stats()
	t.Logf("%d channel crashes (panics, errors, crashing joins) on %d connections in %v while %d healthy sessions got %d broadcasts each and %d ping replies in all; Stats %+v",
		crashes.Load(), nMixed+nCrasher, took.Round(time.Millisecond), nMixed+nHealthy, nB, pings.Load(), stats)
	if stats.Crashes != crashes.Load() {
		t.Errorf("Stats().Crashes = %d, want %d", stats.Crashes, crashes.Load())
	}
	if stats.Connections != len(peers) {
		t.Errorf("Stats().Connections = %d, want all %d still open", stats.Connections, len(peers))
	}
}
