package channeltest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/leakcheck"
)

// TestMain fails the run if any goroutine the tests started (a connection's
// writer, a session's mailbox, a timer callback) outlives them.
func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }

// roomChannel is the channel under test: each event exercises one thing a
// channel can do.
type roomChannel struct {
	// terminated receives the reason of every Terminate.
	terminated chan error
}

func (r *roomChannel) Join(ctx context.Context, s *phx.Session, topic string, p phx.Payload) (any, error) {
	var in struct {
		Refuse any  `json:"refuse"`
		Crash  bool `json:"crash"`
		Quiet  bool `json:"quiet"` // no welcome push
	}
	if !p.Binary {
		if err := p.Decode(&in); err != nil {
			return nil, err
		}
	}
	switch {
	case in.Crash:
		return nil, errors.New("join exploded")
	case in.Refuse != nil:
		return nil, phx.Refuse(in.Refuse)
	case in.Quiet:
		return nil, nil
	}
	// A push made while Join runs goes out right after the join reply.
	if err := s.Push("welcome", map[string]string{"topic": topic}); err != nil {
		return nil, err
	}
	return map[string]any{"joined": topic}, nil
}

func (r *roomChannel) HandleIn(ctx context.Context, s *phx.Session, event string, p phx.Payload) (phx.Reply, error) {
	switch event {
	case "echo":
		return phx.ReplyOK(p), nil
	case "refuse":
		return phx.ReplyError(p), nil
	case "noreply":
		return phx.NoReply, nil
	case "push":
		if err := s.Push("pushed", p); err != nil {
			return phx.NoReply, err
		}
		return phx.ReplyOK(nil), nil
	case "count":
		var in struct{ N int }
		if err := p.Decode(&in); err != nil {
			return phx.NoReply, err
		}
		for i := 1; i <= in.N; i++ {
			if err := s.Push("n", map[string]int{"n": i}); err != nil {
				return phx.NoReply, err
			}
		}
		return phx.NoReply, nil
	case "stop":
		return phx.ReplyOK(map[string]bool{"bye": true}), phx.ErrStop
	case "crash":
		return phx.NoReply, errors.New("crash on purpose")
	case "panic":
		panic("panic on purpose")
	case "shout":
		return phx.ReplyOK(nil), s.Broadcast(ctx, "shout", p)
	case "whisper":
		return phx.ReplyOK(nil), s.BroadcastFrom(ctx, "whisper", p)
	case "whoami":
		return phx.ReplyOK(map[string]any{"id": s.Conn().ID, "assigns": s.Assigns}), nil
	case "binary":
		if err := s.Push("bin", phx.Binary{4, 5}); err != nil {
			return phx.NoReply, err
		}
		return phx.ReplyOK(phx.Binary{1, 2, 3}), nil
	case "later":
		// Push after 10 seconds, from a timer goroutine.
		time.AfterFunc(10*time.Second, func() { _ = s.Push("later", map[string]string{"after": "10s"}) })
		return phx.ReplyOK(nil), nil
	}
	return phx.NoReply, fmt.Errorf("no handler for %q", event)
}

func (r *roomChannel) Intercepts() []string { return []string{"intercepted"} }

func (r *roomChannel) HandleOut(ctx context.Context, s *phx.Session, event string, p phx.Payload) error {
	var out map[string]any
	if err := p.Decode(&out); err != nil {
		return err
	}
	out["seen_by"] = "HandleOut"
	return s.Push("rewritten", out)
}

func (r *roomChannel) Terminate(s *phx.Session, reason error) {
	select {
	case r.terminated <- reason:
	default:
	}
}

// newSocket returns a socket routing "room:*" to a fresh roomChannel.
func newSocket(opts *phx.SocketOptions) (*phx.Socket, *roomChannel) {
	var o phx.SocketOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ch := &roomChannel{terminated: make(chan error, 16)}
	sock := phx.NewSocket(&o)
	sock.Channel("room:*", ch)
	return sock, ch
}

// terminated waits for the next Terminate of ch.
func (r *roomChannel) waitTerminate(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.terminated:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Terminate did not run")
		return nil
	}
}
