package phx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/phxgo/phx/internal/wire"
)

// Session is one connection's membership in one topic: the `socket` that
// Phoenix passes to every channel callback.
//
// All callbacks of a Session (Join, HandleIn, HandleOut, HandleInfo,
// Terminate) run one at a time, in the order their messages arrived, on a
// goroutine the Session owns while it has work; an idle Session holds no
// goroutine. Assigns belongs to those callbacks and needs no lock there; do
// not touch it from other goroutines. Every method is safe to call from any
// goroutine.
type Session struct {
	// Assigns starts as a copy of Conn.Assigns at join and is the place for
	// per-join state.
	Assigns map[string]any

	c       *client
	rt      *route
	topic   string
	joinRef []byte // raw JSON
	id      string // unique on this node; the From of BroadcastFrom
	ctx     context.Context
	cancel  context.CancelFunc

	// curRef is the ref of the event being handled; only the callback
	// goroutine touches it.
	curRef []byte

	release sync.Once // marks the session ended in client.sessions

	mu      sync.Mutex // guards the fields below
	state   sessionState
	items   []item  // mailbox
	running bool    // a goroutine is draining items
	pending []frame // pushes made before the join reply was queued
}

type sessionState uint8

const (
	joining sessionState = iota // Join not finished
	joined                      // serving events
	ending                      // Terminate running: pushes still go out
	gone                        // nothing more goes out
)

type itemKind uint8

const (
	itemJoin itemKind = iota
	itemIn
	itemLeave
	itemOut
	itemInfo
	itemClosed
)

// item is one mailbox entry.
type item struct {
	kind     itemKind
	event    string
	ref      []byte  // raw JSON ref of the client message
	joinRef  []byte  // for itemJoin: the join_ref the client sent (may be nil)
	closeRef []byte  // for itemJoin: the join_ref of a replaced session, to close
	payload  Payload // itemJoin, itemIn, itemOut
	msg      any     // itemInfo
}

var sessionIDs atomic.Uint64

func newSession(c *client, rt *route, topic string, joinRef []byte) *Session {
	s := &Session{c: c, rt: rt, topic: topic, joinRef: joinRef}
	s.id = c.sock.nodeID + ":" + strconv.FormatUint(sessionIDs.Add(1), 36)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	c.sessions.Add(1) // ended by end or kill, not by the client's context, which would keep a child map
	if len(c.info.Assigns) > 0 {
		s.Assigns = make(map[string]any, len(c.info.Assigns))
		for k, v := range c.info.Assigns {
			s.Assigns[k] = v
		}
	} else {
		s.Assigns = make(map[string]any)
	}
	return s
}

// Topic returns the joined topic, e.g. "room:lobby".
func (s *Session) Topic() string { return s.topic }

// Conn returns the connection the session belongs to.
func (s *Session) Conn() *Conn { return s.c.info }

// Context returns the session's context, done when the session ends.
func (s *Session) Context() context.Context { return s.ctx }

// Push sends event with payload to this client only (Phoenix's push/3).
// payload must encode to a JSON object, or be Binary. A push made while Join
// runs is sent right after the join reply. It returns ErrClosed once the
// session has ended.
func (s *Session) Push(event string, payload any) error {
	p, err := toPayload(payload, true)
	if err != nil {
		return err
	}
	f, err := s.c.encode(&wire.Message{JoinRef: s.joinRef, Topic: s.topic, Event: event, Payload: p.Data, Binary: p.Binary})
	if err != nil {
		return err
	}
	s.mu.Lock()
	switch s.state {
	case joining:
		s.pending = append(s.pending, f)
		s.mu.Unlock()
		return nil
	case gone:
		s.mu.Unlock()
		return ErrClosed
	}
	s.mu.Unlock()
	s.c.send(f)
	return nil
}

// Broadcast sends event to every subscriber of the session's topic, this
// session included (Phoenix's broadcast/3).
func (s *Session) Broadcast(ctx context.Context, event string, payload any) error {
	return s.c.sock.publish(ctx, s.topic, event, payload, "")
}

// BroadcastFrom sends event to every subscriber of the session's topic but
// this session (Phoenix's broadcast_from/3).
func (s *Session) BroadcastFrom(ctx context.Context, event string, payload any) error {
	return s.c.sock.publish(ctx, s.topic, event, payload, s.id)
}

// Send queues msg for the channel's HandleInfo (Phoenix's send(self(), msg)).
// It is dropped if the channel has no HandleInfo or the session has ended.
func (s *Session) Send(msg any) { s.post(item{kind: itemInfo, msg: msg}) }

// Ref returns a handle to reply later to the event being handled (Phoenix's
// socket_ref/1). Call it inside HandleIn and return NoReply; then call
// ReplyRef.Reply from any goroutine.
func (s *Session) Ref() ReplyRef {
	return ReplyRef{c: s.c, topic: s.topic, joinRef: s.joinRef, ref: s.curRef}
}

// ReplyRef answers one client push asynchronously. The zero ReplyRef
// replies to nothing.
type ReplyRef struct {
	c       *client
	topic   string
	joinRef []byte
	ref     []byte
}

// Reply sends rep to the push the ReplyRef was taken for (Phoenix's
// reply/2). It is safe from any goroutine and may be called more than once,
// though phoenix.js honours only the first reply.
func (r ReplyRef) Reply(rep Reply) error {
	if r.c == nil {
		return errors.New("phx: ReplyRef.Reply on a zero ReplyRef; take one with Session.Ref inside HandleIn")
	}
	if rep.Status == "" {
		return errors.New("phx: ReplyRef.Reply needs a Status such as \"ok\" or \"error\"")
	}
	return r.c.sendReply(r.joinRef, r.ref, r.topic, rep)
}

// post queues it and starts a goroutine to run the mailbox if none runs.
func (s *Session) post(it item) {
	s.mu.Lock()
	if s.state == gone {
		s.mu.Unlock()
		return
	}
	if s.items == nil {
		s.items = make([]item, 0, 8) // one allocation for a typical burst
	}
	s.items = append(s.items, it)
	if !s.running {
		s.running = true
		s.c.sock.pool.run((*sessionTask)(s))
	}
	s.mu.Unlock()
}

// drain runs queued items in order and exits when the mailbox is empty.
func (s *Session) drain() {
	var batch []item
	for {
		s.mu.Lock()
		if len(s.items) == 0 || s.state == gone {
			s.items = nil // an idle session keeps no mailbox buffer
			s.running = false
			s.mu.Unlock()
			return
		}
		batch, s.items = s.items, batch[:0]
		s.mu.Unlock()
		for i := range batch {
			if s.getState() != gone {
				s.run(&batch[i])
			}
			batch[i] = item{}
		}
	}
}

func (s *Session) getState() sessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// run handles one mailbox item on the session's goroutine.
func (s *Session) run(it *item) {
	if it.kind == itemJoin {
		s.join(it)
		return
	}
	switch st := s.getState(); {
	case st == joining:
		// Only reachable if the join failed: the topic was never joined, so
		// answer as Phoenix's socket does for an unjoined topic.
		s.unmatched(it)
		return
	case st != joined:
		return
	}
	ctx := s.ctx
	switch it.kind {
	case itemIn:
		s.curRef = it.ref
		var rep Reply
		err := s.guard(func() (err error) {
			rep, err = s.rt.ch.HandleIn(ctx, s, it.event, it.payload)
			return err
		})
		s.curRef = nil
		s.finish(it.event, it.ref, rep, err)
	case itemLeave:
		_ = s.c.sendReply(s.joinRef, it.ref, s.topic, ReplyOK(nil))
		s.end(ErrLeft, "phx_close")
	case itemOut:
		ic := s.rt.ch.(Interceptor)
		err := s.guard(func() error { return ic.HandleOut(ctx, s, it.event, it.payload) })
		s.finish(it.event, nil, NoReply, err)
	case itemInfo:
		ih, ok := s.rt.ch.(InfoHandler)
		if !ok {
			s.c.log.Warn("phx: Session.Send on a channel without HandleInfo; message dropped", "topic", s.topic)
			return
		}
		err := s.guard(func() error { return ih.HandleInfo(ctx, s, it.msg) })
		s.finish("", nil, NoReply, err)
	case itemClosed:
		s.end(ErrClosed, "")
	}
}

// unmatched answers a message queued behind a join that did not succeed.
func (s *Session) unmatched(it *item) {
	switch it.kind {
	case itemIn:
		s.c.replyUnmatched(it.ref, s.topic)
	case itemLeave:
		_ = s.c.sendReply(s.joinRef, it.ref, s.topic, ReplyOK(nil))
	}
}

// join runs Channel.Join and answers it (PROTOCOL.md J-4, J-5, J-9).
func (s *Session) join(it *item) {
	if it.closeRef != nil {
		// The replaced session's phx_close follows this join's reply (J-9).
		defer s.c.send(s.c.mustEncode(&wire.Message{JoinRef: it.closeRef, Ref: it.closeRef, Topic: s.topic, Event: "phx_close"}))
	}
	var reply any
	err := s.guard(func() (err error) {
		reply, err = s.rt.ch.Join(s.ctx, s, s.topic, it.payload)
		return err
	})
	if s.getState() == gone {
		return // replaced by a duplicate join while Join ran: say nothing more
	}
	var refused *RefuseError
	switch {
	case errors.As(err, &refused):
		rerr := s.c.sendReply(it.joinRef, it.ref, s.topic, ReplyError(refused.Payload))
		if rerr == nil {
			s.abandon()
			return
		}
		err = fmt.Errorf("phx: encoding the refusal: %w", rerr)
		s.logCrash("join crashed", "phx_join", err)
	case err != nil:
		s.logCrash("join crashed", "phx_join", err)
	}
	if err == nil {
		err = s.accept(it, ReplyOK(reply))
	}
	if err != nil {
		_ = s.c.sendReply(it.joinRef, it.ref, s.topic, ReplyError(map[string]string{"reason": "join crashed"}))
		s.abandon()
		return
	}
	s.c.log.Info("JOINED "+s.topic, "topic", s.topic, "channel", fmt.Sprintf("%T", s.rt.ch), "params", logPayload(it.payload))
}

// accept completes a successful join: it subscribes the session to its
// topic, then queues the ok reply followed by whatever arrived meanwhile
// (pushes made by Join, broadcasts), so the reply comes first (J-5) and no
// broadcast published after the client saw the reply is missed.
func (s *Session) accept(it *item, rep Reply) error {
	f, err := s.c.encodeReply(it.joinRef, it.ref, s.topic, rep)
	if err != nil {
		s.logCrash("join crashed", "phx_join", fmt.Errorf("phx: encoding the join reply: %w", err))
		return err
	}
	if err := s.c.sock.hub.subscribe(s.topic, s); err != nil {
		s.c.log.Error("phx: cannot subscribe to the topic; the session will miss broadcasts", "topic", s.topic, "error", err)
	}
	s.mu.Lock()
	if s.state == gone { // killed by a duplicate join meanwhile
		s.mu.Unlock()
		s.c.sock.hub.unsubscribe(s.topic, s)
		return nil
	}
	s.c.send(f)
	for _, p := range s.pending {
		s.c.send(p)
	}
	s.pending = nil
	s.state = joined
	s.mu.Unlock()
	return nil
}

// abandon forgets a session whose join failed.
func (s *Session) abandon() {
	s.c.removeSession(s)
	s.mu.Lock()
	s.pending = nil
	s.mu.Unlock()
	s.done()
}

// done cancels the session's context and counts it out of its client.
func (s *Session) done() {
	s.cancel()
	s.release.Do(s.c.sessions.Done)
}

// finish applies the outcome of a callback (PROTOCOL.md J-13).
func (s *Session) finish(event string, ref []byte, rep Reply, err error) {
	if rep.Status != "" && s.getState() == joined {
		if rerr := s.c.sendReply(s.joinRef, ref, s.topic, rep); rerr != nil && err == nil {
			err = fmt.Errorf("phx: cannot encode the reply to %q: %w", event, rerr)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrStop):
		s.end(err, "phx_close")
	default:
		s.logCrash("channel crashed", event, err)
		s.end(err, "phx_error")
	}
}

// end closes the session: it leaves the socket and the topic, tells the
// client with frame ("phx_close", "phx_error" or "" for none), runs
// Terminate, and cancels the context.
func (s *Session) end(reason error, frameEvent string) {
	s.mu.Lock()
	if s.state != joined {
		s.mu.Unlock()
		return
	}
	s.state = ending
	s.mu.Unlock()
	s.c.removeSession(s)
	s.c.sock.hub.unsubscribe(s.topic, s)
	switch frameEvent {
	case "phx_close":
		s.c.send(s.c.mustEncode(&wire.Message{JoinRef: s.joinRef, Ref: s.joinRef, Topic: s.topic, Event: "phx_close"}))
	case "phx_error":
		s.c.send(s.c.mustEncode(&wire.Message{JoinRef: s.joinRef, Ref: s.joinRef, Topic: s.topic, Event: "phx_error", Payload: []byte(`{"reason":"channel_crash"}`)}))
	}
	if t, ok := s.rt.ch.(Terminator); ok {
		if err := s.guard(func() error { t.Terminate(s, reason); return nil }); err != nil {
			s.logCrash("Terminate crashed", "", err)
		}
	}
	s.mu.Lock()
	s.state = gone
	s.items = nil
	s.mu.Unlock()
	s.done()
}

// kill ends a session replaced by a duplicate join: no frame, no Terminate
// (Phoenix kills the old process with {:shutdown, :duplicate_join}).
func (s *Session) kill() {
	s.mu.Lock()
	was := s.state
	s.state = gone
	s.items = nil
	s.pending = nil
	s.mu.Unlock()
	if was == joined || was == ending {
		s.c.sock.hub.unsubscribe(s.topic, s)
	}
	s.done()
}

// deliver receives a broadcast on the session's topic from the hub.
func (s *Session) deliver(b *Broadcast, fl *fastlane) {
	if b.From == s.id {
		return
	}
	if s.rt.intercepts[b.Event] {
		s.post(item{kind: itemOut, event: b.Event, payload: b.Payload})
		return
	}
	f, err := fl.frame(s.c.ser)
	if err != nil {
		s.c.log.Warn("phx: broadcast not delivered", "topic", b.Topic, "event", b.Event, "error", err)
		return
	}
	s.mu.Lock()
	if s.state == joining { // subscribed, join reply not queued yet
		s.pending = append(s.pending, f)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.c.send(f)
}

// guard runs fn, turning a panic into a *PanicError.
func (s *Session) guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn()
}

func (s *Session) logCrash(msg, event string, err error) {
	s.c.sock.stats.crashes.Add(1)
	attrs := []any{"topic", s.topic, "join_ref", wire.RefText(s.joinRef), "channel", fmt.Sprintf("%T", s.rt.ch), "error", err}
	if event != "" {
		attrs = append(attrs, "event", event)
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		attrs = append(attrs, "stack", string(pe.Stack))
	}
	s.c.log.Log(context.Background(), slog.LevelError, "phx: "+msg, attrs...)
}
