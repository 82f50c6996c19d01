package phx

import "context"

// Channel handles the joins routed to it by Socket.Channel: Phoenix's
// `use Phoenix.Channel` module. One value serves every join of every
// connection, like an http.Handler, so it must be safe for concurrent use;
// per-join state belongs in Session.Assigns.
//
// The callbacks of one Session run one at a time, in order, never
// concurrently, so they may use Session.Assigns without locks. ctx is the
// session's context: it is done when the session ends.
type Channel interface {
	// Join accepts or refuses a join of topic with the client's payload.
	// A nil error accepts, and reply (nil for {}) is the response of the ok
	// reply. An error made by Refuse refuses the join with its payload. Any
	// other error, or a panic, answers {"reason":"join crashed"}.
	Join(ctx context.Context, s *Session, topic string, payload Payload) (reply any, err error)

	// HandleIn handles an event the client pushed. The returned Reply is sent
	// with the push's ref unless it is NoReply. ErrStop (bare or wrapped)
	// stops the channel gracefully after the reply: the client gets
	// phx_close. Any other error, or a panic, crashes the channel: it is
	// logged, the client gets phx_error and rejoins.
	HandleIn(ctx context.Context, s *Session, event string, payload Payload) (Reply, error)
}

// Interceptor is implemented by channels that intercept outgoing broadcasts
// (Phoenix's intercept/1 and handle_out/3). A broadcast whose event is listed
// by Intercepts is not written to the client; it is handed to HandleOut on
// the session's goroutine, which usually calls Session.Push. Socket.Channel
// panics if Intercepts is empty or lists an event twice.
type Interceptor interface {
	Intercepts() []string
	HandleOut(ctx context.Context, s *Session, event string, payload Payload) error
}

// InfoHandler is implemented by channels that receive messages sent with
// Session.Send (Phoenix's handle_info/2).
type InfoHandler interface {
	HandleInfo(ctx context.Context, s *Session, msg any) error
}

// Terminator is implemented by channels that want to know when a session
// ends (Phoenix's terminate/2). reason is ErrLeft, ErrClosed, an error
// wrapping ErrStop, or the crash error. Terminate runs on the session's
// goroutine, after which the session is gone; it is not called for a
// refused join or when a duplicate join replaces the session.
type Terminator interface {
	Terminate(s *Session, reason error)
}
