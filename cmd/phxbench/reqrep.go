package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// reqrep is one reqrep run: -conns connections sending "ping" pushes whose
// replies must echo the payload, matched by ref.
type reqrep struct {
	s     *settings
	topic []byte

	measureFrom, measureTo time.Time
	stopped                atomic.Bool   // no more pings are sent
	outstanding            atomic.Int64  // pings sent and not answered
	idle                   chan struct{} // signalled when outstanding drops to 0 after stop
	lat                    hist
	lag                    hist // rate mode: actual send time − due time
}

// pinger is one connection of a reqrep run.
type pinger struct {
	c       *conn
	mu      sync.Mutex          // guards pending, n and pbuf
	pending map[uint64]sentPing // by ref
	n       int64
	pbuf    []byte

	sent     atomic.Int64
	replies  atomic.Int64 // all replies
	inWindow atomic.Int64 // replies received in the measured window
}

// sentPing is what a reply must echo.
type sentPing struct {
	n  int64
	ts int64
}

var evPing = []byte(`"ping"`)

// appendPing appends {"n":n,"ts":ts}.
func appendPing(dst []byte, n, ts int64) []byte {
	dst = append(dst, `{"n":`...)
	dst = strconv.AppendInt(dst, n, 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	return append(dst, '}')
}

// ping queues one ping, recording it as pending, and with flush writes the
// connection's queue.
func (rr *reqrep) ping(p *pinger, flush bool) error {
	rr.outstanding.Add(1)
	p.sent.Add(1)
	err := p.c.sendFn(p.c.joinRef, rr.topic, evPing, func(ref uint64) []byte {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.n++
		sp := sentPing{n: p.n, ts: time.Now().UnixNano()}
		p.pending[ref] = sp
		p.pbuf = appendPing(p.pbuf[:0], sp.n, sp.ts)
		return p.pbuf
	}, flush)
	if err != nil {
		return fmt.Errorf("connection %d: sending ping: %w", p.c.id, err)
	}
	return nil
}

func runReqRep(ctx context.Context, s *settings) *result {
	r := &result{Mode: "reqrep", Conns: s.conns}
	ctx, cancel, fail := newRun(ctx)
	defer cancel()
	defer fail.fill(r)

	d := newDialer(s)
	rr := &reqrep{s: s, topic: d.topic, idle: make(chan struct{}, 1)}
	cs, err := d.dialJoined(ctx, s.conns, s.dialers, 1, nil, nil)
	if err != nil {
		fail.add(err)
		return r
	}
	ps := make([]*pinger, len(cs))
	for i, c := range cs {
		ps[i] = &pinger{c: c, pending: make(map[uint64]sentPing, s.window)}
	}
	start := time.Now()
	rr.measureFrom = start.Add(s.warmup)
	rr.measureTo = rr.measureFrom.Add(s.duration)
	var readers sync.WaitGroup
	for _, p := range ps {
		p.c.startHeartbeat(s.heartbeat, fail.add)
		readers.Add(1)
		go func() {
			defer readers.Done()
			fail.add(rr.readLoop(p, s.rate == 0))
		}()
	}
	paced := make(chan struct{})
	go func() {
		defer close(paced)
		if s.rate > 0 {
			rr.pace(ctx, ps, start, fail)
		}
	}()
	if sleepCtx(ctx, time.Until(rr.measureFrom)) {
		cpu := startCPU(s.pid)
		sleepCtx(ctx, time.Until(rr.measureTo))
		r.ServerCPU, r.ToolCPU = cpu.stop()
	}
	<-paced
	rr.stopped.Store(true)
	rr.drain(ctx, fail)
	closeAll(cs)
	readers.Wait()

	r.Seconds = s.duration.Seconds()
	var inWin int64
	for i, p := range ps {
		r.Requests += p.sent.Load()
		r.Replies += p.replies.Load()
		w := p.inWindow.Load()
		inWin += w
		if i == 0 || w < r.MinPerConn {
			r.MinPerConn = w
		}
		r.MaxPerConn = max(r.MaxPerConn, w)
	}
	if r.MaxPerConn > 0 {
		r.Fairness = float64(r.MinPerConn) / float64(r.MaxPerConn)
	}
	r.RepliesPerSec = float64(inWin) / r.Seconds
	r.setLatency(&rr.lat)
	if r.Replies != r.Requests && fail.count() == 0 {
		fail.add(fmt.Errorf("%d of %d pings were never answered", r.Requests-r.Replies, r.Requests))
	}
	if s.rate > 0 && rr.lag.Count() > 0 {
		r.SendLagP99us = us(rr.lag.Quantile(0.99))
	}
	return r
}

// pace sends -rate pings per second in total, round-robin over the
// connections, whatever the replies do (open loop). Go's timers wake about
// once a millisecond on an idle core, so pings due meanwhile go out
// together; their lateness is recorded in rr.lag.
func (rr *reqrep) pace(ctx context.Context, ps []*pinger, start time.Time, fail *failures) {
	const maxPending = 10000 // per connection: a server this far behind has failed
	interval := time.Duration(float64(time.Second) / rr.s.rate)
	if interval <= 0 {
		interval = 1
	}
	next := start
	for i := 0; ctx.Err() == nil; i++ {
		if !next.Before(rr.measureTo) {
			return
		}
		if d := time.Until(next); d > 0 && !sleepCtx(ctx, d) {
			return
		}
		now := time.Now()
		if !now.Before(rr.measureFrom) {
			rr.lag.Record(now.Sub(next))
		}
		p := ps[i%len(ps)]
		if p.sent.Load()-p.replies.Load() >= maxPending {
			fail.add(fmt.Errorf("connection %d: %d pings unanswered", p.c.id, maxPending))
			return
		}
		if err := rr.ping(p, true); err != nil {
			fail.add(err)
			return
		}
		next = next.Add(interval)
	}
}

// drain waits until every ping sent has been answered, or for -timeout.
func (rr *reqrep) drain(ctx context.Context, fail *failures) {
	deadline := time.NewTimer(rr.s.timeout)
	defer deadline.Stop()
	for rr.outstanding.Load() > 0 {
		select {
		case <-rr.idle:
		case <-ctx.Done():
			return
		case <-deadline.C:
			fail.add(fmt.Errorf("%d pings still unanswered %v after the run", rr.outstanding.Load(), rr.s.timeout))
			return
		}
	}
}

// readLoop verifies the replies of one connection. In closed-loop mode it
// also keeps -window pings in flight until the measured window ends: each
// reply queues a new ping, and the queue is written when no further reply
// is buffered, so that a burst of replies costs one write.
func (rr *reqrep) readLoop(p *pinger, closedLoop bool) error {
	c := p.c
	if closedLoop {
		for i := 0; i < rr.s.window; i++ {
			if err := rr.ping(p, false); err != nil {
				return err
			}
		}
	}
	var want []byte
	for {
		if !c.ws.frameBuffered() {
			if err := c.flush(); err != nil {
				return fmt.Errorf("connection %d: sending pings: %w", c.id, err)
			}
		}
		b, f, now, err := c.next()
		if err != nil {
			return err
		}
		ref, ok := parseRef(f.ref)
		p.mu.Lock()
		sp, found := p.pending[ref]
		delete(p.pending, ref)
		p.mu.Unlock()
		if !ok || !found {
			return fmt.Errorf("connection %d: %w", c.id, frameErr(b, "ref %s matches no ping in flight", f.ref))
		}
		resp, err := replyOf(b, &f, c.joinRef, ref, rr.topic)
		if err != nil {
			return fmt.Errorf("connection %d: ping reply: %w", c.id, err)
		}
		want = appendPing(want[:0], sp.n, sp.ts)
		if !sameJSON(resp, want) {
			return fmt.Errorf("connection %d: %w", c.id, frameErr(b, "ping reply does not echo the payload %s", want))
		}
		p.replies.Add(1)
		if !now.Before(rr.measureFrom) && now.Before(rr.measureTo) {
			p.inWindow.Add(1)
			rr.lat.Record(time.Duration(now.UnixNano() - sp.ts))
		}
		if closedLoop && now.Before(rr.measureTo) {
			if err := rr.ping(p, false); err != nil {
				return err
			}
		}
		if rr.outstanding.Add(-1) == 0 && rr.stopped.Load() {
			select {
			case rr.idle <- struct{}{}:
			default:
			}
		}
	}
}
