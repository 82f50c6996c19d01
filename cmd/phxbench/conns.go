package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// runConns opens -conns connections joined to the topic, holds them idle
// (heartbeating) for -duration, reads the server's RSS (given -pid), and
// then proves every connection is still open with a final heartbeat on
// each. With -pid, the server must release the connections once the tool
// has closed them.
func runConns(ctx context.Context, s *settings) *result {
	r := &result{Mode: "conns", Conns: s.conns}
	ctx, cancel, fail := newRun(ctx)
	defer cancel()
	defer fail.fill(r)

	fds := -1
	if s.pid > 0 {
		before, err := rss(s.pid)
		if err != nil {
			fail.add(err)
			return r
		}
		r.RSSBefore = before
		if fds, err = openFDs(s.pid); err != nil {
			fail.add(err)
			return r
		}
	}
	d := newDialer(s)
	var joinLat hist
	var readers sync.WaitGroup
	var dead atomic.Int64
	t0 := time.Now()
	cs, err := d.dialJoined(ctx, s.conns, s.dialers, 1, &joinLat, func(c *conn) {
		readers.Add(1)
		c.startHeartbeat(s.heartbeat, fail.add)
		go func() {
			defer readers.Done()
			if err := idleLoop(c); err != nil {
				dead.Add(1)
				fail.add(err)
			}
		}()
	})
	joinTime := time.Since(t0)
	if err != nil {
		fail.add(err)
		readers.Wait()
		return r
	}
	defer func() {
		closeAll(cs)
		readers.Wait()
		if fds >= 0 && fail.count() == 0 {
			checkReleased(s.pid, fds, len(cs), s.timeout, r, fail)
		}
	}()
	r.Joins = len(cs)
	r.JoinsPerSec = float64(len(cs)) / joinTime.Seconds()
	r.setLatency(&joinLat)

	cpu := startCPU(s.pid)
	held := sleepCtx(ctx, s.duration)
	r.Seconds = time.Since(cpu.t0).Seconds()
	if s.pid > 0 {
		after, err := rss(s.pid)
		if err != nil {
			fail.add(err)
			return r
		}
		r.RSSAfter = after
		r.BytesPerConn = float64(after-r.RSSBefore) / float64(len(cs))
	}
	r.ServerCPU, r.ToolCPU = cpu.stop()
	if !held {
		return r
	}
	r.Alive = sweep(ctx, cs, s.timeout, fail)
	if n := dead.Load(); n > 0 && fail.count() == 0 {
		fail.add(fmt.Errorf("%d connections were lost during the hold", n))
	}
	return r
}

// idleLoop reads an idle joined connection: only heartbeat replies may
// arrive.
func idleLoop(c *conn) error {
	b, _, _, err := c.next()
	if err != nil {
		return err
	}
	return fmt.Errorf("connection %d: %w", c.id, frameErr(b, "unexpected frame on an idle connection"))
}

// sweep stops the periodic heartbeats, sends one heartbeat on every
// connection that has none pending, and waits up to timeout for every
// heartbeat to be answered. It returns how many were, and records a
// failure for each that was not.
func sweep(ctx context.Context, cs []*conn, timeout time.Duration, fail *failures) int {
	for _, c := range cs {
		c.stopHeartbeat()
	}
	for _, c := range cs {
		if _, err := c.beat(false); err != nil {
			fail.add(err)
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		pending := 0
		for _, c := range cs {
			if c.hbRef.Load() != 0 {
				pending++
			}
		}
		if pending == 0 {
			return len(cs)
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, 10*time.Millisecond) {
			fail.add(fmt.Errorf("%d of %d connections did not answer the final heartbeat within %v", pending, len(cs), timeout))
			return len(cs) - pending
		}
	}
}
