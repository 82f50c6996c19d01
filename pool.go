package phx

import (
	"slices"
	"sync"
	"time"
)

// task is work for a pool goroutine: draining a session's mailbox, a
// connection's inbound frames, or its outbound queue.
type task interface{ work() }

// workerIdle is how long a pool goroutine waits for more work before it
// exits.
const workerIdle = time.Second

// pool runs tasks on goroutines that wait a moment for the next task when
// they run out, so that steady traffic reuses goroutines instead of starting
// one (and allocating its stack) per burst, while an idle socket holds none:
// an idle connection or session costs no goroutine.
//
// A Socket's goroutines all come from its pool, so a Socket used inside a
// testing/synctest bubble must be made inside it.
//
// Goroutines wait only while the socket has connections: when the last one
// ends, idle goroutines exit at once, so that a test that closes its
// connections leaves nothing running.
type pool struct {
	mu    sync.Mutex
	idle  []*worker // most recently idle last
	users int       // open connections
}

// hold counts a connection in; release counts it out, and with the last one
// dismisses the idle goroutines.
func (p *pool) hold() {
	p.mu.Lock()
	p.users++
	p.mu.Unlock()
}

func (p *pool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users--
	if p.users > 0 {
		return
	}
	for i, w := range p.idle {
		w.tasks <- nil // exit
		p.idle[i] = nil
	}
	p.idle = p.idle[:0]
}

type worker struct {
	p     *pool
	tasks chan task // at most one task handed over at a time
}

// run starts t on an idle goroutine, or on a new one.
func (p *pool) run(t task) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.tasks <- t
		return
	}
	p.mu.Unlock()
	w := &worker{p: p, tasks: make(chan task, 1)}
	go w.loop(t)
}

func (w *worker) loop(t task) {
	var timer *time.Timer
	for {
		t.work()
		t = nil
		w.p.mu.Lock()
		if w.p.users <= 0 {
			w.p.mu.Unlock()
			return
		}
		w.p.idle = append(w.p.idle, w)
		w.p.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(workerIdle)
		} else {
			timer.Reset(workerIdle)
		}
		select {
		case t = <-w.tasks:
			timer.Stop()
			if t == nil {
				return
			}
			continue
		case <-timer.C:
		}
		w.p.mu.Lock()
		if i := slices.Index(w.p.idle, w); i >= 0 {
			w.p.idle = slices.Delete(w.p.idle, i, i+1)
			w.p.mu.Unlock()
			return
		}
		w.p.mu.Unlock()
		// run or release took this worker just as it timed out: its task
		// (or nil, to exit) is on the way.
		if t = <-w.tasks; t == nil {
			return
		}
	}
}

// The tasks, as views of the structures they drain, so that handing one to
// the pool allocates nothing.
type (
	writeTask   client
	inboxTask   client
	sessionTask Session
)

func (t *writeTask) work()   { (*client)(t).writeLoop() }
func (t *inboxTask) work()   { (*client)(t).handleInbox() }
func (t *sessionTask) work() { (*Session)(t).drain() }
