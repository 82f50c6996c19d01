package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// runStorm connects, joins and disconnects as fast as -conns workers can,
// for -duration or until -joins joins. Each connection is closed (with a
// TCP reset, as a client that vanishes) as soon as its join reply is
// verified. With -pid, the server must then release those connections.
func runStorm(ctx context.Context, s *settings) *result {
	r := &result{Mode: "storm", Conns: s.conns}
	ctx, cancel, fail := newRun(ctx)
	defer cancel()
	defer fail.fill(r)

	d := newDialer(s)
	fds := -1
	if s.pid > 0 {
		n, err := openFDs(s.pid)
		if err != nil {
			fail.add(err)
			return r
		}
		fds = n
	}
	var total, claimed atomic.Int64
	var connectJoin, joinOnly hist
	cpu := startCPU(s.pid)
	start := time.Now()
	end := start.Add(s.duration)
	var wg sync.WaitGroup
	for w := 0; w < s.conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n := claimed.Add(1)
				if s.joins > 0 && n > int64(s.joins) || s.joins == 0 && !time.Now().Before(end) {
					return
				}
				t0 := time.Now()
				c, err := d.dial(ctx, int(n))
				if err != nil {
					fail.add(err)
					return
				}
				t1 := time.Now()
				err = c.joinTopic()
				t2 := time.Now()
				c.close()
				if err != nil {
					fail.add(err)
					return
				}
				connectJoin.Record(t2.Sub(t0))
				joinOnly.Record(t2.Sub(t1))
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	r.ServerCPU, r.ToolCPU = cpu.stop()
	r.Seconds = el.Seconds()
	r.Joins = int(total.Load())
	r.JoinsPerSec = float64(r.Joins) / el.Seconds()
	r.setLatency(&connectJoin)
	r.JoinP50us = us(joinOnly.Quantile(0.5))
	r.JoinP99us = us(joinOnly.Quantile(0.99))
	if fds >= 0 && fail.count() == 0 {
		checkReleased(s.pid, fds, r.Joins, s.timeout, r, fail)
	}
	return r
}
