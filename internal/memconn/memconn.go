// Package memconn connects to a phx.Socket in memory, without a network, for
// package channeltest. Package phx fills in the hooks at init; they take the
// *phx.Socket as an any because this package cannot import phx.
package memconn

import "net/http"

// Options describes the connection to open.
type Options struct {
	Params     map[string][]string // connect params; vsn picks the serializer
	Header     http.Header
	ID         string         // socket id, when Connect is not run
	Assigns    map[string]any // socket assigns, when Connect is not run
	RemoteAddr string
	AuthToken  string // the token phoenix.js's authToken option sends
	// RunConnect runs the socket's Connect hook, which may refuse.
	RunConnect bool
}

// Sink receives what the server sends, in order, from one goroutine at a
// time.
type Sink interface {
	Frame(data []byte, binary bool)
	Closed(code int, reason string)
}

// Conn is an open in-memory connection.
type Conn interface {
	// Send hands one frame to the server as if the client sent it. An error
	// means the frame could not be decoded; the server closes with 1011.
	Send(data []byte, binary bool) error
	// Close ends the connection from the client side.
	Close()
	// SessionID returns the id of the session joined to topic on this
	// connection ("" if none), the From of a BroadcastFrom.
	SessionID(topic string) string
}

// Broadcast is a broadcast as a subscriber of the socket's PubSub sees it.
type Broadcast struct {
	Topic, Event string
	Payload      []byte
	Binary       bool
	From         string
}

// Hooks set by package phx.
var (
	// Dial opens a connection to sock.
	Dial func(sock any, o Options, sink Sink) (Conn, error)
	// Subscribe subscribes fn to topic on sock's PubSub.
	Subscribe func(sock any, topic string, fn func(Broadcast)) (unsubscribe func(), err error)
	// Publish publishes payload (any value phx accepts) on sock's PubSub.
	Publish func(sock any, topic, event string, payload any, from string) error
)
