package phx_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/phxgo/phx"
)

// roomChannel is the channel most tests join. Join behaves according to
// the join payload's "mode"; HandleIn according to the event, one event per
// outcome the protocol defines. It intercepts "intercepted" and records
// every Terminate in terms.
type roomChannel struct {
	terms terminations // may be nil
}

var (
	_ phx.Channel     = (*roomChannel)(nil)
	_ phx.Interceptor = (*roomChannel)(nil)
	_ phx.InfoHandler = (*roomChannel)(nil)
	_ phx.Terminator  = (*roomChannel)(nil)
)

type joinParams struct {
	Mode          string `json:"mode"`
	TerminatePush bool   `json:"terminate_push"`
}

func (ch *roomChannel) Join(_ context.Context, s *phx.Session, _ string, p phx.Payload) (any, error) {
	var jp joinParams
	if !p.Binary {
		if err := p.Decode(&jp); err != nil {
			return nil, err
		}
	}
	if jp.TerminatePush {
		s.Assigns["terminate_push"] = true
	}
	switch jp.Mode {
	case "", "ok":
		return nil, nil
	case "reply":
		return map[string]string{"hello": "world"}, nil
	case "refuse":
		return nil, phx.Refuse(map[string]string{"reason": "unauthorized"})
	case "refuse_nil":
		return nil, phx.Refuse(nil)
	case "error":
		return nil, errors.New("database down")
	case "panic":
		panic("join exploded")
	case "push":
		// A push made inside Join, and the after_join idiom: both must
		// follow the join reply (J-5).
		if err := s.Push("in_join", map[string]int{"n": 1}); err != nil {
			return nil, err
		}
		s.Send("after_join")
		return nil, nil
	}
	return nil, fmt.Errorf("unknown join mode %q", jp.Mode)
}

func (ch *roomChannel) HandleIn(ctx context.Context, s *phx.Session, event string, p phx.Payload) (phx.Reply, error) {
	switch event {
	case "ping":
		return phx.ReplyOK(map[string]string{"ping": "pong"}), nil
	case "echo":
		return phx.ReplyOK(p), nil
	case "status_only":
		return phx.Reply{Status: "ok"}, nil
	case "unauthorized":
		return phx.Reply{Status: "unauthorized", Payload: map[string]string{"reason": "nope"}}, nil
	case "error_reply":
		return phx.ReplyError(map[string]string{"reason": "invalid"}), nil
	case "noreply":
		return phx.NoReply, nil
	case "stop":
		return phx.NoReply, phx.ErrStop
	case "stop_reply":
		return phx.ReplyOK(map[string]string{"msg": "shutting down"}), fmt.Errorf("done: %w", phx.ErrStop)
	case "error":
		return phx.NoReply, errBoom
	case "panic":
		panic("boom")
	case "reply_error":
		return phx.ReplyOK(map[string]bool{"partial": true}), errBoom
	case "push":
		return phx.NoReply, s.Push("pushed", p)
	case "push_binary":
		return phx.NoReply, s.Push("bin", phx.Binary{0, 1, 2, 255})
	case "reply_binary":
		return phx.ReplyOK(phx.Binary{9, 8, 7}), nil
	case "push_not_object":
		err := s.Push("bad", []int{1, 2})
		return phx.ReplyOK(map[string]bool{"not_object": errors.Is(err, phx.ErrNotObject)}), nil
	case "async":
		ref := s.Ref()
		go func() {
			emptyStatus := ref.Reply(phx.Reply{}) // must fail: no status
			_ = ref.Reply(phx.ReplyOK(map[string]bool{"async": true, "empty_status_refused": emptyStatus != nil}))
		}()
		return phx.NoReply, nil
	case "broadcast":
		return phx.ReplyOK(nil), s.Broadcast(ctx, "shout", p)
	case "broadcast_from":
		return phx.ReplyOK(nil), s.BroadcastFrom(ctx, "shout", p)
	case "assigns":
		return phx.ReplyOK(s.Assigns), nil
	case "set_assign":
		s.Assigns["scratch"] = s.Topic()
		return phx.ReplyOK(nil), nil
	case "binary":
		return phx.ReplyOK(map[string]any{"binary": p.Binary, "hex": hex.EncodeToString(p.Data)}), nil
	case "size":
		return phx.ReplyOK(map[string]int{"n": len(p.Data)}), nil
	case "conn":
		return phx.ReplyOK(map[string]string{"id": s.Conn().ID, "topic": s.Topic()}), nil
	}
	return phx.NoReply, fmt.Errorf("no handler for event %q", event)
}

func (ch *roomChannel) Intercepts() []string { return []string{"intercepted"} }

func (ch *roomChannel) HandleOut(_ context.Context, s *phx.Session, event string, p phx.Payload) error {
	var m map[string]any
	if err := p.Decode(&m); err != nil {
		return err
	}
	m["via"] = "handle_out"
	return s.Push(event, m)
}

func (ch *roomChannel) HandleInfo(ctx context.Context, s *phx.Session, msg any) error {
	if msg != "after_join" {
		return fmt.Errorf("unexpected message %v", msg)
	}
	if err := s.Broadcast(ctx, "user_entered", map[string]any{"user": nil}); err != nil {
		return err
	}
	return s.Push("joined", map[string]string{"status": "connected"})
}

func (ch *roomChannel) Terminate(s *phx.Session, reason error) {
	if s.Assigns["terminate_push"] == true {
		_ = s.Push("terminated", map[string]string{"reason": reasonName(reason)})
	}
	if ch.terms != nil {
		select {
		case ch.terms <- termination{topic: s.Topic(), reason: reason}:
		default:
		}
	}
}

func reasonName(err error) string {
	var pe *phx.PanicError
	switch {
	case errors.Is(err, phx.ErrLeft):
		return "left"
	case errors.Is(err, phx.ErrClosed):
		return "closed"
	case errors.Is(err, phx.ErrStop):
		return "stop"
	case errors.As(err, &pe):
		return "panic"
	}
	return "error"
}

// pingChannel is the "ping" channel of the hello-sockets notes, as the
// golden transcript (PROTOCOL.md §15) uses it.
type pingChannel struct{}

func (pingChannel) Join(context.Context, *phx.Session, string, phx.Payload) (any, error) {
	return nil, nil
}

func (pingChannel) HandleIn(_ context.Context, _ *phx.Session, event string, _ phx.Payload) (phx.Reply, error) {
	switch event {
	case "ping":
		return phx.ReplyOK(map[string]string{"ping": "pong"}), nil
	case "boom":
		panic("boom")
	}
	return phx.NoReply, fmt.Errorf("no handler for event %q", event)
}

func (pingChannel) Intercepts() []string { return []string{"request_ping"} }

func (pingChannel) HandleOut(_ context.Context, s *phx.Session, _ string, _ phx.Payload) error {
	return s.Push("send_ping", map[string]string{"from_node": "..."})
}

// wildChannel accepts "wild:a:b" when b is twice a, as the hello-sockets
// notes' WildcardChannel, and refuses with {} otherwise.
type wildChannel struct{}

func (wildChannel) Join(_ context.Context, _ *phx.Session, topic string, _ phx.Payload) (any, error) {
	parts := strings.Split(topic, ":")
	if len(parts) == 3 {
		a, errA := strconv.Atoi(parts[1])
		b, errB := strconv.Atoi(parts[2])
		if errA == nil && errB == nil && b == 2*a {
			return nil, nil
		}
	}
	return nil, phx.Refuse(nil)
}

func (wildChannel) HandleIn(context.Context, *phx.Session, string, phx.Payload) (phx.Reply, error) {
	return phx.NoReply, nil
}

// namedChannel answers every join with {"ch": name}: routing tests use it
// to see which pattern won.
type namedChannel string

func (n namedChannel) Join(context.Context, *phx.Session, string, phx.Payload) (any, error) {
	return map[string]string{"ch": string(n)}, nil
}

func (namedChannel) HandleIn(context.Context, *phx.Session, string, phx.Payload) (phx.Reply, error) {
	return phx.NoReply, nil
}

// interceptsChannel is a channel whose Intercepts returns a fixed list.
type interceptsChannel []string

func (interceptsChannel) Join(context.Context, *phx.Session, string, phx.Payload) (any, error) {
	return nil, nil
}

func (interceptsChannel) HandleIn(context.Context, *phx.Session, string, phx.Payload) (phx.Reply, error) {
	return phx.NoReply, nil
}

func (ic interceptsChannel) Intercepts() []string { return ic }

func (interceptsChannel) HandleOut(context.Context, *phx.Session, string, phx.Payload) error {
	return nil
}

// roomServer starts a server with roomChannel on "room:*" and returns it
// with the channel's Terminate log.
func roomServer(t testing.TB, opts *phx.SocketOptions) (*testServer, terminations) {
	terms := newTerminations()
	ts := newServer(t, opts, func(s *phx.Socket) {
		s.Channel("room:*", &roomChannel{terms: terms})
	})
	return ts, terms
}
