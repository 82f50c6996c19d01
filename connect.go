package phx

import (
	"context"
	"time"

	"github.com/phxgo/phx/internal/wire"
)

// authenticate runs the Connect hook for info and logs a refusal. It returns
// how long Connect took, for the CONNECTED log line.
func (s *Socket) authenticate(ctx context.Context, info *Conn, ser wire.Serializer) (time.Duration, error) {
	start := time.Now()
	if s.opts.Connect == nil {
		return time.Since(start), nil
	}
	if err := s.opts.Connect(ctx, info); err != nil {
		s.log.Info("REFUSED CONNECTION TO "+s.opts.Name+" in "+formatDuration(time.Since(start)),
			"transport", info.Transport, "serializer", ser.Name(), "params", filterParams(info.Params),
			"error", filterError(err, info.Params, info.AuthToken))
		return 0, err
	}
	return time.Since(start), nil
}

// start makes the client of an accepted connection and registers it: it is
// then reachable by Shutdown and, when it has an ID, by Disconnect. It
// returns nil when the socket is draining; the caller closes the transport.
// Transports that need the idle timeout arm it themselves (LongPoll has its
// own inactivity rule).
func (s *Socket) start(info *Conn, ser wire.Serializer, tr transport, took time.Duration) *client {
	c := newClient(s, info, ser, tr)
	if b, ok := tr.(interface{ bind(*client) }); ok {
		b.bind(c) // before anything can reach the client and close the transport
	}
	if !s.register(c) {
		return nil
	}
	if info.ID != "" {
		if err := s.hub.subscribe(info.ID, c); err != nil {
			s.log.Error("phx: cannot subscribe to the socket id; Disconnect will not reach this connection", "socket_id", info.ID, "error", err)
		}
	}
	s.log.Info("CONNECTED TO "+s.opts.Name+" in "+formatDuration(took),
		"transport", info.Transport, "serializer", ser.Name(), "params", filterParams(info.Params))
	info.Params, info.Header, info.AuthToken = nil, nil, ""
	return c
}
