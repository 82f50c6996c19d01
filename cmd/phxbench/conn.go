package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// dialer opens client connections the way phoenix.js does: a plain
// WebSocket (no subprotocol) on the /websocket URL with vsn=2.0.0.
type dialer struct {
	url   *url.URL
	topic []byte // raw JSON string, e.g. "room:lobby" quoted
	opts  *settings
}

func newDialer(s *settings) *dialer {
	return &dialer{url: s.wsURL, topic: quote(s.topic), opts: s}
}

// quote returns s as a JSON string.
func quote(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}

// conn is one client connection with its Phoenix refs. Reads happen on one
// goroutine; writes may come from several and are serialised by mu.
// Frames can be queued and written together with one system call.
type conn struct {
	id      int
	d       *dialer
	ws      *wsConn
	joinRef uint64

	mu   sync.Mutex // guards the fields below and writes to ws
	ref  uint64     // last ref sent
	fbuf []byte     // the frame being encoded
	out  []byte     // WebSocket frames queued, not yet written

	hbRef   atomic.Uint64 // ref of the heartbeat awaiting its reply; 0: none
	hbTimer *time.Timer   // guarded by mu
	hbEvery time.Duration // guarded by mu
	noBeats bool          // guarded by mu: stopHeartbeat was called
	closed  atomic.Bool
}

// dial opens a connection. It does not join.
func (d *dialer) dial(ctx context.Context, id int) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.timeout)
	defer cancel()
	ws, err := dialWS(ctx, d.url)
	if err != nil {
		return nil, fmt.Errorf("connection %d: %w", id, err)
	}
	return &conn{id: id, d: d, ws: ws}, nil
}

// queueLocked encodes [join_ref, ref, topic, event, payload] with the next
// ref into the output queue and returns the ref. joinRef 0 writes null;
// topic and event are raw JSON strings. c.mu must be held.
func (c *conn) queueLocked(joinRef uint64, topic, event, payload []byte) uint64 {
	c.ref++
	c.fbuf = appendPush(c.fbuf[:0], joinRef, c.ref, topic, event, payload)
	c.out = c.ws.appendFrame(c.out, opText, c.fbuf)
	return c.ref
}

// flushLocked writes the queued frames. c.mu must be held.
func (c *conn) flushLocked() error {
	if len(c.out) == 0 {
		return nil
	}
	err := c.ws.write(c.out)
	c.out = c.out[:0]
	return err
}

// flush writes the queued frames.
func (c *conn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

// send writes the frame [join_ref, ref, topic, event, payload] (and any
// queued before it) and returns its ref.
func (c *conn) send(joinRef uint64, topic, event, payload []byte) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ref := c.queueLocked(joinRef, topic, event, payload)
	return ref, c.flushLocked()
}

// sendFn queues a frame whose payload is made by a function of its ref,
// called under the connection's lock: the caller can record the ref there
// before any reply to it can be read. With flush the queue is written.
func (c *conn) sendFn(joinRef uint64, topic, event []byte, payload func(ref uint64) []byte, flush bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queueLocked(joinRef, topic, event, payload(c.ref+1))
	if !flush {
		return nil
	}
	return c.flushLocked()
}

// read returns the next message, answering WebSocket pings on the way. The
// slice is valid until the next read.
func (c *conn) read() ([]byte, error) {
	op, b, err := c.ws.readMessage(func(p []byte) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.out = c.ws.appendFrame(c.out, opPong, p)
		return c.flushLocked()
	})
	if err != nil {
		return nil, err
	}
	if op != opText {
		return nil, frameErr(b, "binary WebSocket message where a V2 JSON text frame was expected")
	}
	return b, nil
}

var evJoin = []byte(`"phx_join"`)

// joinTopic sends phx_join with join_ref == ref, as phoenix.js does, and
// verifies the reply. The deadline bounds the wait.
func (c *conn) joinTopic() error {
	c.mu.Lock()
	ref := c.ref + 1
	c.queueLocked(ref, c.d.topic, evJoin, jsonEmpty)
	err := c.flushLocked()
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("connection %d: sending phx_join: %w", c.id, err)
	}
	_ = c.ws.nc.SetReadDeadline(time.Now().Add(c.d.opts.timeout))
	b, err := c.read()
	_ = c.ws.nc.SetReadDeadline(time.Time{})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("connection %d: no join reply within %v", c.id, c.d.opts.timeout)
	}
	if err != nil {
		return fmt.Errorf("connection %d: waiting for the join reply: %w", c.id, c.readErr(err))
	}
	f, err := parseFrame(b)
	if err != nil {
		return fmt.Errorf("connection %d: %w", c.id, err)
	}
	if _, err := replyOf(b, &f, ref, ref, c.d.topic); err != nil {
		return fmt.Errorf("connection %d: join reply: %w", c.id, err)
	}
	c.joinRef = ref
	return nil
}

var evHeartbeat = []byte(`"heartbeat"`)

// startHeartbeat sends a heartbeat every interval, as phoenix.js does, the
// first one at a random point of the first interval and a half so that
// thousands of connections do not beat in step. A heartbeat still waiting
// for its reply when the next is due is a failure.
func (c *conn) startHeartbeat(interval time.Duration, fail func(error)) {
	if interval <= 0 {
		return
	}
	first := time.Duration(rand.Int64N(int64(interval))) + interval/2
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hbEvery = interval
	c.hbTimer = time.AfterFunc(first, func() {
		if _, err := c.beat(true); err != nil && !c.closed.Load() {
			fail(err)
		}
	})
}

// stopHeartbeat stops the periodic heartbeats; a heartbeat already sent
// may still be answered.
func (c *conn) stopHeartbeat() {
	c.mu.Lock()
	c.noBeats = true
	t := c.hbTimer
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

// beat sends [null, ref, "phoenix", "heartbeat", {}] and records its ref for
// the read loop to match, unless a heartbeat is already waiting for its
// reply: that is an error for a periodic beat and nothing otherwise. It
// reports whether it sent one.
func (c *conn) beat(periodic bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if periodic && c.noBeats {
		return false, nil
	}
	if old := c.hbRef.Load(); old != 0 {
		if periodic {
			return false, fmt.Errorf("connection %d: heartbeat ref \"%d\" got no reply before the next was due", c.id, old)
		}
		return false, nil
	}
	c.hbRef.Store(c.ref + 1)
	c.queueLocked(0, topPhoenix, evHeartbeat, jsonEmpty)
	if err := c.flushLocked(); err != nil {
		return false, fmt.Errorf("connection %d: sending a heartbeat: %w", c.id, err)
	}
	if periodic {
		c.hbTimer.Reset(c.hbEvery)
	}
	return true, nil
}

// heartbeatReply checks a frame on topic "phoenix": it must answer the
// pending heartbeat. It reports whether f was a heartbeat reply.
func (c *conn) heartbeatReply(raw []byte, f *frame) (bool, error) {
	if !sameString(f.topic, topPhoenix) {
		return false, nil
	}
	want := c.hbRef.Load()
	if want == 0 {
		return true, frameErr(raw, "reply on topic \"phoenix\" but no heartbeat is pending")
	}
	resp, err := replyOf(raw, f, 0, want, topPhoenix)
	if err != nil {
		return true, err
	}
	if !sameJSON(resp, jsonEmpty) {
		return true, frameErr(raw, "heartbeat response %s, expected {}", resp)
	}
	c.hbRef.Store(0)
	return true, nil
}

// next reads frames until one that is not a heartbeat reply (those it
// checks against the pending heartbeat), and returns it parsed, with the
// time it arrived.
func (c *conn) next() ([]byte, frame, time.Time, error) {
	for {
		b, err := c.read()
		if err != nil {
			return nil, frame{}, time.Time{}, c.readErr(err)
		}
		now := time.Now()
		f, err := parseFrame(b)
		if err == nil {
			var hb bool
			if hb, err = c.heartbeatReply(b, &f); hb && err == nil {
				continue
			}
		}
		if err != nil {
			return nil, frame{}, time.Time{}, fmt.Errorf("connection %d: %w", c.id, err)
		}
		return b, f, now, nil
	}
}

// close ends the connection at once.
func (c *conn) close() {
	if c.closed.Swap(true) {
		return
	}
	c.stopHeartbeat()
	_ = c.ws.close()
}

// errClosedByUs marks reads that failed because the tool closed the
// connection.
var errClosedByUs = errors.New("closed by phxbench")

// readErr explains a failed read: the server closed the connection, unless
// the tool did.
func (c *conn) readErr(err error) error {
	if c.closed.Load() {
		return errClosedByUs
	}
	var ce *closeError
	if errors.As(err, &ce) {
		return fmt.Errorf("connection %d: closed by the server with code %d %q", c.id, ce.code, ce.reason)
	}
	return fmt.Errorf("connection %d: lost: %w", c.id, err)
}

// dialJoined opens n joined connections with at most par dials at once and
// returns them with the latency of each connect+join in h (if not nil).
// start is called with each connection as soon as it has joined.
func (d *dialer) dialJoined(ctx context.Context, n, par, firstID int, h *hist, start func(*conn)) ([]*conn, error) {
	conns := make([]*conn, n)
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if par > n {
		par = n
	}
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				c, err := d.dial(ctx, firstID+i)
				if err == nil {
					err = c.joinTopic()
					if err != nil {
						c.close()
					}
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				if h != nil {
					h.Record(time.Since(t0))
				}
				conns[i] = c
				if start != nil {
					start(c)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		for _, c := range conns {
			if c != nil {
				c.close()
			}
		}
		return nil, firstErr
	}
	return conns, nil
}
