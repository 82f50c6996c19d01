package phx

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phxgo/phx/internal/wire"
)

// Conn describes one client connection, as the Connect hook sees it
// (Phoenix's connect/3 params, connect_info and id/1). Connect may set ID and
// Assigns; after Connect returns the Conn is read-only.
//
// Params, Header and AuthToken are there for Connect only, as Phoenix's
// connect/3 arguments are: they are cleared when Connect returns, so that
// no secret or cookie lingers for the connection's lifetime and an idle
// connection stays small. Copy what the channels need into Assigns.
type Conn struct {
	// ID names the connection for Socket.Disconnect ("" is anonymous).
	// Several connections may share an ID, e.g. one per user.
	ID string
	// Assigns are copied into every Session.Assigns at join.
	Assigns map[string]any
	// RemoteAddr is the client's network address, "ip:port".
	RemoteAddr string
	// Transport is "websocket" or "longpoll".
	Transport string

	// Params holds the query parameters exactly as sent, vsn included.
	// phoenix.js sends a JavaScript undefined as the string "undefined".
	Params url.Values
	// Header holds the handshake request headers.
	Header http.Header
	// AuthToken is the token phoenix.js sends with its authToken option: in
	// the "base64url.bearer.phx.<token>" WebSocket subprotocol, or the
	// X-Phoenix-AuthToken header over LongPoll; "" if none.
	AuthToken string
}

// frame is one encoded outbound message.
type frame struct {
	data   []byte
	binary bool
}

// transport is what a client needs from the network under it.
type transport interface {
	// write sends frames, in order; only the client's writer goroutine
	// calls it.
	write(frames []frame) error
	// deadline bounds the writes that follow; transports that cannot block
	// ignore it.
	deadline(t time.Time)
	// close ends the connection with a WebSocket close code and reason.
	close(code int, reason string)
}

// Close codes the server uses (PROTOCOL.md §6). phoenix.js reconnects after
// any code but 1000, so the server never sends 1000.
const (
	closeGoingAway    = 1001 // disconnect broadcast, idle timeout
	closePolicy       = 1008 // slow consumer: the outbound queue overflowed
	closeInternal     = 1011 // malformed frame
	closeServiceRetry = 1012 // server shutting down
)

// client is the server side of one connection: it decodes inbound frames and
// routes them to sessions, and owns the bounded outbound queue. Its reader
// (the transport's read loop) calls handle; any goroutine may call send.
type client struct {
	sock *Socket
	info *Conn
	ser  wire.Serializer
	tr   transport
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc

	lastRead atomic.Int64               // unix nanos of the last inbound frame
	idle     atomic.Pointer[time.Timer] // the pending idle check

	sessions sync.WaitGroup // sessions not yet ended

	chMu     sync.Mutex // guards channels and ended
	channels map[string]*Session
	ended    bool

	inMu       sync.Mutex // guards the fields below
	inbox      []frame    // inbound frames waiting to be handled
	handling   bool       // a goroutine is draining inbox
	inboxSpace *sync.Cond // signalled when inbox shrinks

	outMu     sync.Mutex // guards the fields below
	out       []frame
	outBytes  int  // bytes queued or being written
	writing   bool // a writer goroutine is draining out
	shut      bool // no more frames are accepted
	closeCode int  // close the transport with this once out is drained; 0: none
	closeWhy  string
}

func newClient(s *Socket, info *Conn, ser wire.Serializer, tr transport) *client {
	c := &client{sock: s, info: info, ser: ser, tr: tr, channels: make(map[string]*Session)}
	c.ctx, c.stop = context.WithCancel(context.Background())
	c.log = s.log
	c.lastRead.Store(time.Now().UnixNano())
	c.inboxSpace = sync.NewCond(&c.inMu)
	return c
}

// handle processes one inbound frame (PROTOCOL.md §5). An error means the
// frame could not be decoded: the caller closes the connection with 1011.
func (c *client) handle(data []byte, binary bool) error {
	c.lastRead.Store(time.Now().UnixNano())
	m, err := c.ser.Decode(data, binary)
	if err != nil {
		return err
	}
	if m.RawTopic != nil || m.RawEvent != nil {
		// A topic or event that is not a string matches no channel (M-2).
		f, err := c.encode(&wire.Message{Ref: m.Ref, Topic: m.Topic, RawTopic: m.RawTopic, Status: "error", Payload: unmatchedPayload})
		if err == nil {
			c.send(f)
		}
		return nil
	}
	if m.Topic == "phoenix" && m.Event == "heartbeat" {
		_ = c.sendReply(nil, m.Ref, m.Topic, ReplyOK(nil))
		return nil
	}
	if max := c.sock.opts.MaxNameLength; len(m.Topic) > max || len(m.Event) > max {
		reason := "topic too long"
		if len(m.Topic) <= max {
			reason = "event too long"
		}
		c.log.Warn("phx: refusing a message: "+reason, "max", max, "topic_bytes", len(m.Topic), "event_bytes", len(m.Event))
		_ = c.sendReply(nil, m.Ref, m.Topic, ReplyError(map[string]string{"reason": reason}))
		return nil
	}
	payload := Payload{Data: m.Payload, Binary: m.Binary}
	c.chMu.Lock()
	if c.ended {
		c.chMu.Unlock()
		return nil
	}
	s := c.channels[m.Topic]
	switch {
	case m.Event == "phx_join":
		c.join(&m, payload, s) // unlocks chMu
	case s == nil:
		c.chMu.Unlock()
		if m.Event == "phx_leave" {
			_ = c.sendReply(m.JoinRef, m.Ref, m.Topic, ReplyOK(nil))
		} else {
			c.replyUnmatched(m.Ref, m.Topic)
		}
	case m.JoinRef != nil && !bytes.Equal(m.JoinRef, s.joinRef):
		c.chMu.Unlock() // a message for an earlier join of this topic: dropped (J-12)
	case m.Event == "phx_leave":
		c.chMu.Unlock()
		s.post(item{kind: itemLeave, ref: m.Ref})
	default:
		c.chMu.Unlock()
		s.post(item{kind: itemIn, event: m.Event, ref: m.Ref, payload: payload})
	}
	return nil
}

// join starts a session for m.Topic, replacing old if the topic is already
// joined (J-9). It is called with chMu held and releases it.
func (c *client) join(m *wire.Message, payload Payload, old *Session) {
	rt := c.sock.router.match(m.Topic)
	if rt == nil { // old is nil: a joined topic has a route
		c.chMu.Unlock()
		c.log.Warn("phx: ignoring unmatched topic \""+m.Topic+"\"", "topic", m.Topic)
		c.replyUnmatched(m.Ref, m.Topic)
		return
	}
	n := len(c.channels)
	if old != nil {
		n--
	}
	if max := c.sock.opts.MaxChannels; max > 0 && n >= max {
		c.chMu.Unlock()
		c.log.Warn("phx: too many channels joined", "topic", m.Topic, "max", max)
		_ = c.sendReply(m.JoinRef, m.Ref, m.Topic, ReplyError(map[string]string{"reason": "too many channels joined"}))
		return
	}
	joinRef := m.JoinRef
	if joinRef == nil {
		joinRef = m.Ref // V1 clients send no join_ref
	}
	s := newSession(c, rt, m.Topic, joinRef)
	c.channels[m.Topic] = s
	c.chMu.Unlock()
	it := item{kind: itemJoin, ref: m.Ref, joinRef: m.JoinRef, payload: payload}
	if old != nil {
		old.kill()
		it.closeRef = old.joinRef
	}
	s.post(it)
}

// removeSession forgets s if it is still the session of its topic.
func (c *client) removeSession(s *Session) {
	c.chMu.Lock()
	if c.channels[s.topic] == s {
		delete(c.channels, s.topic)
	}
	c.chMu.Unlock()
}

// replyUnmatched answers a message for a topic that has no route or no
// joined channel: join_ref null, status error (J-2, J-16).
func (c *client) replyUnmatched(ref []byte, topic string) {
	c.send(c.mustEncode(&wire.Message{Ref: ref, Topic: topic, Status: "error", Payload: unmatchedPayload}))
}

var unmatchedPayload = []byte(`{"reason":"unmatched topic"}`)

// encode serializes m for this client.
func (c *client) encode(m *wire.Message) (frame, error) {
	// Room for the whole frame, so that encoding allocates once.
	size := len(m.Payload) + len(m.Topic) + len(m.Event) + len(m.Status) + len(m.JoinRef) + len(m.Ref) + len(m.RawTopic) + 48
	data, bin, err := c.ser.Encode(make([]byte, 0, size), m)
	return frame{data: data, binary: bin}, err
}

// mustEncode serializes a frame made only of server-chosen JSON, which cannot
// fail.
func (c *client) mustEncode(m *wire.Message) frame {
	f, err := c.encode(m)
	if err != nil {
		panic("phx: internal frame failed to encode: " + err.Error())
	}
	return f
}

// encodeReply serializes a phx_reply.
func (c *client) encodeReply(joinRef, ref []byte, topic string, rep Reply) (frame, error) {
	p, err := toPayload(rep.Payload, false)
	if err != nil {
		return frame{}, err
	}
	return c.encode(&wire.Message{JoinRef: joinRef, Ref: ref, Topic: topic, Status: rep.Status, Payload: p.Data, Binary: p.Binary})
}

// sendReply encodes and queues a phx_reply.
func (c *client) sendReply(joinRef, ref []byte, topic string, rep Reply) error {
	f, err := c.encodeReply(joinRef, ref, topic, rep)
	if err != nil {
		return err
	}
	c.send(f)
	return nil
}

// closed tears the client down once its transport is gone: every session
// terminates with ErrClosed and the socket id subscription ends.
func (c *client) closed() {
	c.chMu.Lock()
	if c.ended {
		c.chMu.Unlock()
		return
	}
	c.ended = true
	sessions := make([]*Session, 0, len(c.channels))
	for _, s := range c.channels {
		sessions = append(sessions, s)
	}
	c.chMu.Unlock()
	c.outMu.Lock()
	c.shut, c.out = true, nil
	c.outMu.Unlock()
	for _, s := range sessions {
		s.post(item{kind: itemClosed})
	}
	if c.info.ID != "" {
		c.sock.hub.unsubscribe(c.info.ID, c)
	}
	c.stop()
	if t := c.idle.Load(); t != nil {
		t.Stop()
	}
	c.sock.unregister(c)
}

// deliver receives broadcasts on the socket id topic: "disconnect" closes
// the connection with 1001 (W-14); anything else is ignored.
func (c *client) deliver(b *Broadcast, _ *fastlane) {
	if b.Event == "disconnect" {
		c.closeAfter(closeGoingAway, "disconnect")
	}
}
