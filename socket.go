package phx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// SocketOptions configures a Socket. The zero value of every field is a
// useful default; NewSocket copies the options, so changing them later has
// no effect.
type SocketOptions struct {
	// Connect authenticates a connection before the WebSocket upgrade
	// (Phoenix's connect/3 and id/1). It may set c.ID and c.Assigns. A
	// non-nil error refuses the connection with HTTP 403. nil: every
	// connection is accepted, anonymous.
	Connect func(ctx context.Context, c *Conn) error

	// PubSub carries broadcasts between nodes. nil: NewLocalPubSub(), one
	// node.
	PubSub PubSub

	// LongPoll also serves the LongPoll transport at <prefix>/longpoll, the
	// fallback phoenix.js uses where WebSockets do not get through. Off by
	// default, as in Phoenix.
	LongPoll bool

	// LongPollWindow is how long a LongPoll GET waits for messages before
	// answering 204; a session nobody polls for 1.5 windows ends. Default
	// 10s, as Phoenix.
	LongPollWindow time.Duration

	// LongPollBatch caps the ndjson lines read from one LongPoll POST; the
	// rest are dropped and logged. Default 100, as Phoenix (phoenix.js never
	// sends more).
	LongPollBatch int

	// Secret signs LongPoll session tokens. Nodes that share a load balancer
	// without sticky sessions need the same Secret. nil: random per Socket.
	Secret []byte

	// OriginPatterns lists the origins, besides the request's own host,
	// whose pages may connect (Phoenix's check_origin list). Each entry is a
	// host with an optional scheme and port: "example.com",
	// "https://example.com", "//example.com:8443". A host written
	// "*.example.com" matches example.com and every subdomain; parts left out
	// match anything. A handshake without an Origin header (a non-browser
	// client) is always allowed. A refused origin gets HTTP 403 on the
	// WebSocket and {"status":403} on LongPoll, which stops cross-site
	// WebSocket hijacking.
	OriginPatterns []string

	// CheckOrigin, when set, decides instead of the rules above for
	// requests that carry an Origin header: it gets the request and reports
	// whether its Origin may connect.
	CheckOrigin func(r *http.Request) bool

	// InsecureSkipOriginCheck accepts any origin (Phoenix's
	// check_origin: false). Only for servers that authenticate every
	// connection with a token, never with cookies.
	InsecureSkipOriginCheck bool

	// Compress negotiates permessage-deflate with clients that offer it
	// (Phoenix's compress: true), without context takeover so that an idle
	// connection keeps no compressor state. Off by default, as in Phoenix.
	Compress bool

	// IdleTimeout closes a connection, with code 1001, that sent nothing
	// (not even a heartbeat) for this long. Default 60s, as Phoenix;
	// negative: never.
	IdleTimeout time.Duration

	// MaxChannels caps the topics one connection may join at once; the join
	// past the cap gets {"reason":"too many channels joined"}. Default 1000
	// (Phoenix's 100 is too low for real apps); negative: no cap.
	MaxChannels int

	// MaxConnections caps the connections (WebSocket and LongPoll) the
	// socket serves at once; past it, a WebSocket handshake gets HTTP 503
	// and a new LongPoll session {"status":500}, which phoenix.js retries.
	// Default 100,000; negative: no cap.
	MaxConnections int

	// MaxNameLength caps the bytes of a topic or an event name; a message
	// past it gets an error reply, {"reason":"topic too long"} or
	// {"reason":"event too long"}, and is not handled. Default 1024.
	MaxNameLength int

	// MaxFrameSize is the largest inbound frame in bytes; a larger frame
	// closes the connection with 1009. Default 1 MiB.
	MaxFrameSize int64

	// OutboundQueue is how many frames may wait for a client to read them.
	// A client that lets more pile up is too slow: it is closed with 1008
	// (phoenix.js reconnects) rather than let it hold memory or block a
	// broadcast. Default 1024.
	OutboundQueue int

	// OutboundBytes caps the bytes waiting for one client, with the same
	// outcome as OutboundQueue. Default 4 MiB.
	OutboundBytes int

	// WriteTimeout bounds the writing of what is queued for a client at one
	// time; a client that cannot take it that fast is closed. Default 10s.
	WriteTimeout time.Duration

	// Name names the socket in logs, like Phoenix's socket module. Default
	// "phx.Socket".
	Name string

	// Logger receives the socket's logs. nil: slog.Default().
	Logger *slog.Logger
}

func (o *SocketOptions) withDefaults() SocketOptions {
	var c SocketOptions
	if o != nil {
		c = *o
	}
	if c.PubSub == nil {
		c.PubSub = NewLocalPubSub()
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.MaxChannels == 0 {
		c.MaxChannels = 1000
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 100_000
	}
	if c.MaxNameLength <= 0 {
		c.MaxNameLength = 1024
	}
	if c.MaxFrameSize <= 0 {
		c.MaxFrameSize = 1 << 20
	}
	if c.OutboundQueue <= 0 {
		c.OutboundQueue = 1024
	}
	if c.LongPollBatch <= 0 {
		c.LongPollBatch = 100
	}
	if c.LongPollWindow <= 0 {
		c.LongPollWindow = 10 * time.Second
	}
	if c.OutboundBytes <= 0 {
		c.OutboundBytes = 4 << 20
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Name == "" {
		c.Name = "phx.Socket"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Socket serves Phoenix Channels: it is Phoenix's UserSocket module and the
// endpoint's `socket "/socket", ...` line in one http.Handler. Mount it under
// any prefix, stripping the prefix:
//
//	mux.Handle("/socket/", http.StripPrefix("/socket", sock))
//
// It serves the WebSocket transport at <prefix>/websocket. Register every
// channel with Channel before serving. All methods are safe for concurrent
// use.
type Socket struct {
	opts   SocketOptions
	router router
	hub    *hub
	log    *slog.Logger
	nodeID string

	secret  []byte
	origins []originPattern

	lpMu       sync.Mutex // guards lpSessions
	lpSessions map[string]*lpSession

	stats counters
	pool  pool

	mu       sync.Mutex // guards clients and draining
	clients  map[*client]struct{}
	draining bool
	drained  chan struct{} // closed when draining and no client is left
}

// NewSocket returns a Socket. opts may be nil.
func NewSocket(opts *SocketOptions) *Socket {
	o := opts.withDefaults()
	origins := parseOrigins(o.OriginPatterns)
	var id [6]byte
	_, _ = rand.Read(id[:])
	secret := append([]byte(nil), o.Secret...)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	return &Socket{
		secret:     secret,
		origins:    origins,
		lpSessions: make(map[string]*lpSession),
		opts:       o,
		hub:        newHub(o.PubSub),
		log:        o.Logger,
		nodeID:     hex.EncodeToString(id[:]),
		clients:    make(map[*client]struct{}),
		drained:    make(chan struct{}),
	}
}

// Channel routes the topics matching pattern to ch (Phoenix's
// `channel "room:*", RoomChannel`). A pattern is an exact topic ("ping"), a
// prefix ending in * ("ping:*" matches every topic starting with "ping:"),
// or "*" for every topic. An exact pattern beats a prefix, and a longer
// prefix beats a shorter one, whatever the order of registration (Phoenix
// uses declaration order instead).
//
// Channel panics on a malformed pattern (a * anywhere but at the end), a
// pattern registered twice, or an Interceptor with an empty or repeated
// intercept list, as http.ServeMux.Handle panics on a bad pattern. Register
// every channel before the Socket serves.
func (s *Socket) Channel(pattern string, ch Channel) {
	s.router.add(pattern, ch)
}

// ServeHTTP serves <prefix>/websocket, and <prefix>/longpoll when
// SocketOptions.LongPoll is set; any other path is 404.
func (s *Socket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case hasSuffixPath(r.URL.Path, "/websocket"):
		s.serveWebSocket(w, r)
	case s.opts.LongPoll && hasSuffixPath(r.URL.Path, "/longpoll"):
		s.serveLongPoll(w, r)
	default:
		http.NotFound(w, r)
	}
}

func hasSuffixPath(p, suffix string) bool {
	for len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return len(p) >= len(suffix) && p[len(p)-len(suffix):] == suffix
}

// Broadcast sends event with payload to every client joined to topic, on
// every node of the PubSub (Phoenix's Endpoint.broadcast/3). payload must
// encode to a JSON object, or be Binary.
func (s *Socket) Broadcast(ctx context.Context, topic, event string, payload any) error {
	return s.publish(ctx, topic, event, payload, "")
}

func (s *Socket) publish(ctx context.Context, topic, event string, payload any, from string) error {
	p, err := toPayload(payload, true)
	if err != nil {
		return err
	}
	return s.opts.PubSub.Publish(ctx, Broadcast{Topic: topic, Event: event, Payload: p, From: from})
}

// Disconnect closes, with code 1001, every connection whose Conn.ID is id, on
// every node (Phoenix's Endpoint.broadcast(id, "disconnect", %{})).
// phoenix.js reconnects, so pair it with revoking what Connect checks.
func (s *Socket) Disconnect(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("phx: Disconnect needs a socket id; anonymous connections cannot be disconnected by id")
	}
	return s.opts.PubSub.Publish(ctx, Broadcast{Topic: id, Event: "disconnect", Payload: Payload{Data: []byte("{}")}})
}

// Shutdown drains the socket like http.Server.Shutdown: new connections get
// HTTP 503, and every open connection is closed with code 1012 (phoenix.js
// reconnects, to another node or after the restart) once the frames already
// queued for it are written. It returns when every connection has ended, or
// with ctx's error when ctx is done first. Call it before
// http.Server.Shutdown, which does not know about hijacked connections.
func (s *Socket) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.draining {
		s.draining = true
		if len(s.clients) == 0 {
			close(s.drained)
		}
	}
	clients := make([]*client, 0, len(s.clients))
	for c := range maps.Keys(s.clients) {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.closeAfter(closeServiceRetry, "server shutting down")
	}
	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// register adds c to the live clients; false when the socket is draining
// or full.
func (s *Socket) register(c *client) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining || s.fullLocked() {
		return false
	}
	s.clients[c] = struct{}{}
	s.pool.hold()
	return true
}

// full reports whether MaxConnections connections are open.
func (s *Socket) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fullLocked()
}

func (s *Socket) fullLocked() bool {
	return s.opts.MaxConnections > 0 && len(s.clients) >= s.opts.MaxConnections
}

func (s *Socket) unregister(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c]; ok {
		s.pool.release()
	}
	delete(s.clients, c)
	if s.draining && len(s.clients) == 0 {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}

func (s *Socket) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// Stats are counters of a Socket, for metrics and alerts.
type Stats struct {
	Connections   int   // open now, WebSocket and LongPoll
	SlowConsumers int64 // connections closed because their outbound queue overflowed
	Malformed     int64 // connections closed on a frame that could not be decoded
	Crashes       int64 // channel callbacks that failed or panicked, failed joins included
}

// counters are the Socket's running totals.
type counters struct {
	slow, malformed, crashes atomic.Int64
}

// Stats returns the socket's counters.
func (s *Socket) Stats() Stats {
	s.mu.Lock()
	n := len(s.clients)
	s.mu.Unlock()
	return Stats{
		Connections:   n,
		SlowConsumers: s.stats.slow.Load(),
		Malformed:     s.stats.malformed.Load(),
		Crashes:       s.stats.crashes.Load(),
	}
}
