// Package roomchan is the RoomChannel that `mix phx.gen.channel Room`
// generates, for the tests of the load tool and of the baseline server,
// which measure phx against it. examples/hellosockets has its own copy, the
// one users read.
package roomchan

import (
	"context"
	"errors"
	"fmt"

	"github.com/phxgo/phx"
)

// Channel joins "room:lobby" only, echoes "ping" as an ok reply and
// broadcasts "shout" to the room.
type Channel struct{}

// Join accepts "room:lobby"; any other room crashes the join, as the
// generated join/3 has no clause for it.
func (Channel) Join(ctx context.Context, s *phx.Session, topic string, p phx.Payload) (any, error) {
	if topic != "room:lobby" {
		return nil, errors.New("RoomChannel joins room:lobby only")
	}
	return nil, nil
}

// HandleIn echoes "ping" and broadcasts "shout".
func (Channel) HandleIn(ctx context.Context, s *phx.Session, event string, p phx.Payload) (phx.Reply, error) {
	switch event {
	case "ping":
		return phx.ReplyOK(p), nil
	case "shout":
		return phx.NoReply, s.Broadcast(ctx, "shout", p)
	}
	return phx.NoReply, fmt.Errorf("no handler for %q", event)
}
