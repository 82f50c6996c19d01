package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// fanout is one fanout run: -conns subscribers and one publisher on the
// topic. The publisher keeps at most -inflight shouts that have not yet
// reached every subscriber, so the run measures how fast the server fans
// out rather than how deep its queues are.
type fanout struct {
	s     *settings
	topic []byte
	subs  int // receivers that count towards completion: subscribers, and the publisher with -echo

	ring     []atomic.Int32 // per seq % inflight: subscribers that got it
	done     atomic.Uint64  // every seq <= done reached every subscriber
	sent     atomic.Uint64  // highest seq written
	progress chan struct{}  // signalled when done moves

	measureFrom, measureTo time.Time // the measured window
	inWindow               atomic.Int64
	lat                    hist
	firstInWindow          uint64       // first seq published in the window; publisher only
	echoes                 atomic.Int64 // shouts the publisher got back
}

// tracker checks the sequence numbers one receiver sees from the
// publisher.
type tracker struct {
	next     uint64              // lowest seq not yet seen in order
	missing  map[uint64]struct{} // skipped seqs not seen yet
	got      int64               // distinct seqs seen
	dups     int64
	reorders int64
	highest  atomic.Uint64 // highest seq seen, read by drain
}

// see records seq and reports whether it was new.
func (t *tracker) see(seq uint64) bool {
	switch {
	case seq == t.next:
		t.next++
		t.highest.Store(seq)
	case seq > t.next:
		if t.missing == nil {
			t.missing = make(map[uint64]struct{})
		}
		for s := t.next; s < seq; s++ {
			t.missing[s] = struct{}{}
		}
		t.next = seq + 1
		t.highest.Store(seq)
	default:
		if _, ok := t.missing[seq]; !ok {
			t.dups++
			return false
		}
		delete(t.missing, seq)
		t.reorders++
	}
	t.got++
	return true
}

// lost returns how many of seqs 1..last the receiver never saw.
func (t *tracker) lost(last uint64) int64 {
	n := int64(len(t.missing))
	if t.next <= last {
		n += int64(last - t.next + 1)
	}
	return n
}

// appendShout appends {"pad":"x…","seq":seq,"ts":ts}, padded so that it is
// size bytes long when size allows.
func appendShout(dst []byte, size int, seq uint64, ts int64) []byte {
	const fixed = len(`{"pad":"","seq":,"ts":}`)
	var num [40]byte
	n := len(strconv.AppendUint(num[:0], seq, 10)) + len(strconv.AppendInt(num[:0], ts, 10))
	pad := size - fixed - n
	dst = append(dst, `{"pad":"`...)
	for i := 0; i < pad; i++ {
		dst = append(dst, 'x')
	}
	dst = append(dst, `","seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	return append(dst, '}')
}

var (
	keyPad = []byte(`"pad"`)
	keySeq = []byte(`"seq"`)
	keyTS  = []byte(`"ts"`)
)

// shoutFields reads seq and ts from a shout payload.
func shoutFields(p []byte) (seq uint64, ts int64, err error) {
	var rawSeq, rawTS []byte
	err = objectFields(p, func(k, v []byte) bool {
		switch {
		case sameString(k, keySeq):
			rawSeq = v
		case sameString(k, keyTS):
			rawTS = v
		case sameString(k, keyPad):
		}
		return true
	})
	if err != nil {
		return 0, 0, err
	}
	n, ok1 := parseInt(rawSeq)
	ts, ok2 := parseInt(rawTS)
	if !ok1 || !ok2 || n < 1 {
		return 0, 0, fmt.Errorf("payload needs integer \"seq\" >= 1 and \"ts\"")
	}
	return uint64(n), ts, nil
}

func runFanout(ctx context.Context, s *settings) *result {
	r := &result{Mode: "fanout", Conns: s.conns}
	ctx, cancel, fail := newRun(ctx)
	defer cancel()
	defer fail.fill(r)

	d := newDialer(s)
	receivers := s.conns
	if s.echo {
		receivers++
	}
	fo := &fanout{s: s, topic: d.topic, subs: receivers, ring: make([]atomic.Int32, s.inflight), progress: make(chan struct{}, 1)}
	subs, err := d.dialJoined(ctx, s.conns, s.dialers, 1, nil, nil)
	if err != nil {
		fail.add(err)
		return r
	}
	pubs, err := d.dialJoined(ctx, 1, 1, s.conns+1, nil, nil)
	if err != nil {
		closeAll(subs)
		fail.add(err)
		return r
	}
	pub := pubs[0]
	all := append(subs, pub)
	trackers := make([]tracker, len(all))
	var readers sync.WaitGroup
	for i, c := range all {
		trackers[i].next = 1
		c.startHeartbeat(s.heartbeat, fail.add)
		readers.Add(1)
		go func(c *conn, t *tracker, isSub bool) {
			defer readers.Done()
			fail.add(fo.readLoop(c, t, isSub))
		}(c, &trackers[i], c != pub)
	}

	start := time.Now()
	fo.measureFrom = start.Add(s.warmup)
	fo.measureTo = fo.measureFrom.Add(s.duration)
	cpu := (*cpuMeter)(nil)
	published := fo.publish(ctx, pub, &cpu, fail)
	if cpu != nil {
		r.ServerCPU, r.ToolCPU = cpu.stop()
	}
	fo.drain(ctx, published, trackers, fail)
	closeAll(all)
	readers.Wait()

	r.Seconds = s.duration.Seconds()
	r.Publishes = int64(published)
	var pubInWin int64
	if published > 0 {
		pubInWin = fo.publishedInWindow(published)
	}
	r.PublishesPerSec = float64(pubInWin) / r.Seconds
	r.DeliveriesPerSec = float64(fo.inWindow.Load()) / r.Seconds
	r.setLatency(&fo.lat)
	for i := range trackers {
		t := &trackers[i]
		if all[i] == pub {
			switch {
			case !s.echo && t.got > 0:
				fail.add(fmt.Errorf("the publisher received %d of its own shouts, but -echo=false says the server does not send them", t.got))
			case s.echo && (t.lost(published) > 0 || t.dups > 0 || t.reorders > 0):
				fail.add(fmt.Errorf("the publisher's own copies of its shouts (-echo): %d lost, %d duplicated, %d reordered", t.lost(published), t.dups, t.reorders))
			}
			continue
		}
		r.Deliveries += t.got
		lost := t.lost(published)
		r.Loss += lost
		r.Duplicates += t.dups
		r.Reorders += t.reorders
		if lost > 0 {
			r.ReceiversWithLoss++
			r.MaxLossPerReceiver = max(r.MaxLossPerReceiver, lost)
		}
	}
	if r.Loss > 0 || r.Duplicates > 0 || r.Reorders > 0 {
		fail.add(fmt.Errorf("%d shouts lost (on %d of %d subscribers), %d duplicated, %d reordered", r.Loss, r.ReceiversWithLoss, s.conns, r.Duplicates, r.Reorders))
	}
	return r
}

// publish shouts until the measured window ends and returns the last seq
// sent. It starts *cpu when the measured window starts.
func (fo *fanout) publish(ctx context.Context, pub *conn, cpu **cpuMeter, fail *failures) uint64 {
	var payload []byte
	t0 := time.Now()
	w := uint64(len(fo.ring))
	stall := time.NewTimer(fo.s.timeout)
	defer stall.Stop()
	var seq uint64
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(fo.measureTo) {
			break
		}
		if *cpu == nil && !now.Before(fo.measureFrom) {
			*cpu = startCPU(fo.s.pid)
		}
		next := seq + 1
		for next > fo.done.Load()+w {
			stall.Reset(fo.s.timeout)
			select {
			case <-fo.progress:
			case <-ctx.Done():
				return seq
			case <-stall.C:
				fail.add(fo.stalled(fmt.Sprintf("after %v", fo.s.timeout)))
				return seq
			}
		}
		if fo.s.rate > 0 {
			due := t0.Add(time.Duration(float64(next-1) / fo.s.rate * 1e9))
			if d := time.Until(due); d > 0 && !sleepCtx(ctx, d) {
				return seq
			}
		}
		payload = appendShout(payload[:0], fo.s.size, next, time.Now().UnixNano())
		fo.sent.Store(next)
		if _, err := pub.send(pub.joinRef, fo.topic, evShout, payload); err != nil {
			fail.add(fmt.Errorf("publisher: sending shout %d: %w", next, err))
			return seq
		}
		seq = next
		if fo.firstInWindow == 0 && !time.Now().Before(fo.measureFrom) {
			fo.firstInWindow = seq
		}
	}
	return seq
}

// publishedInWindow returns how many shouts were sent in the measured
// window.
func (fo *fanout) publishedInWindow(last uint64) int64 {
	if fo.firstInWindow == 0 {
		return 0
	}
	return int64(last - fo.firstInWindow + 1)
}

// drain waits until every shout up to last reached every subscriber, and
// then until every receiver has seen last (the count of completions is
// only a flow control, inexact once a server loses or reorders).
func (fo *fanout) drain(ctx context.Context, last uint64, ts []tracker, fail *failures) {
	deadline := time.NewTimer(fo.s.timeout)
	defer deadline.Stop()
	for fo.done.Load() < last {
		select {
		case <-fo.progress:
		case <-ctx.Done():
			return
		case <-deadline.C:
			fail.add(fo.stalled(fmt.Sprintf("%v after the last shout (seq %d)", fo.s.timeout, last)))
			return
		}
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; i < len(ts); {
		if i == len(ts)-1 && !fo.s.echo || ts[i].highest.Load() >= last {
			i++
			continue
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		case <-deadline.C:
			return // the tracker reports the loss
		}
	}
}

// stalled explains why the shout after done has not completed.
func (fo *fanout) stalled(when string) error {
	seq := fo.done.Load() + 1
	got := fo.ring[seq%uint64(len(fo.ring))].Load()
	err := fmt.Errorf("shout seq %d has reached only %d of %d receivers %s (loss or a stuck server)", seq, got, fo.subs, when)
	if fo.s.echo && fo.echoes.Load() == 0 {
		err = fmt.Errorf("%w; the publisher got none of its own shouts: for a server that uses broadcast_from, pass -echo=false", err)
	}
	return err
}

// delivered counts seq as received by one more subscriber.
func (fo *fanout) delivered(seq uint64) {
	slot := &fo.ring[seq%uint64(len(fo.ring))]
	if int(slot.Add(1)) < fo.subs {
		return
	}
	slot.Store(0)
	for {
		d := fo.done.Load()
		if seq <= d || fo.done.CompareAndSwap(d, seq) {
			break
		}
	}
	select {
	case fo.progress <- struct{}{}:
	default:
	}
}

// readLoop verifies every frame a receiver gets: heartbeat replies and
// [null, null, topic, "shout", payload] broadcasts whose payload is exactly
// what the publisher sent. isSub is false for the publisher, whose own
// copies (-echo) count towards completion but not in the figures.
func (fo *fanout) readLoop(c *conn, t *tracker, isSub bool) error {
	var want []byte
	for {
		b, f, now, err := c.next()
		if err != nil {
			return err
		}
		if !bytes.Equal(f.joinRef, jsonNull) || !bytes.Equal(f.ref, jsonNull) || !sameString(f.topic, fo.topic) || !sameString(f.event, evShout) {
			return fmt.Errorf("connection %d: %w", c.id, frameErr(b, "expected a broadcast [null,null,%s,\"shout\",payload]", fo.topic))
		}
		seq, ts, err := shoutFields(f.payload)
		if err != nil {
			return fmt.Errorf("connection %d: %w", c.id, frameErr(b, "shout payload: %v", err))
		}
		if seq > fo.sent.Load() {
			return fmt.Errorf("connection %d: %w", c.id, frameErr(b, "seq %d was never published", seq))
		}
		want = appendShout(want[:0], fo.s.size, seq, ts)
		if !sameJSON(f.payload, want) {
			return fmt.Errorf("connection %d: %w", c.id, frameErr(b, "shout payload differs from the one published: want %s", want))
		}
		if !isSub {
			fo.echoes.Add(1)
		}
		if !t.see(seq) || !isSub && !fo.s.echo {
			continue
		}
		fo.delivered(seq)
		if isSub && !now.Before(fo.measureFrom) && now.Before(fo.measureTo) {
			fo.inWindow.Add(1)
			fo.lat.Record(time.Duration(now.UnixNano() - ts))
		}
	}
}
