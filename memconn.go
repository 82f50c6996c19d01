package phx

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/phxgo/phx/internal/memconn"
)

// The in-memory transport behind package channeltest.
func init() {
	memconn.Dial = memDial
	memconn.Subscribe = func(sock any, topic string, fn func(memconn.Broadcast)) (func(), error) {
		return sock.(*Socket).opts.PubSub.Subscribe(topic, func(b Broadcast) {
			fn(memconn.Broadcast{Topic: b.Topic, Event: b.Event, Payload: b.Payload.Data, Binary: b.Payload.Binary, From: b.From})
		})
	}
	memconn.Publish = func(sock any, topic, event string, payload any, from string) error {
		return sock.(*Socket).publish(context.Background(), topic, event, payload, from)
	}
}

func memDial(sock any, o memconn.Options, sink memconn.Sink) (memconn.Conn, error) {
	s, ok := sock.(*Socket)
	if !ok || s == nil {
		return nil, errors.New("phx: channeltest needs a *phx.Socket made by phx.NewSocket")
	}
	ser, ok := serializerFor(o.Params)
	if !ok {
		return nil, errors.New("phx: unsupported vsn; use 1.0.0 or 2.0.0")
	}
	info := &Conn{Params: o.Params, Header: o.Header, AuthToken: o.AuthToken, RemoteAddr: o.RemoteAddr, Transport: "channeltest"}
	var took time.Duration
	if o.RunConnect {
		var err error
		if took, err = s.authenticate(context.Background(), info, ser); err != nil {
			return nil, err
		}
	} else {
		info.ID, info.Assigns = o.ID, o.Assigns
	}
	t := &testTransport{sink: sink}
	c := s.start(info, ser, t, took)
	if c == nil {
		return nil, errors.New("phx: the socket is shutting down")
	}
	if s.opts.IdleTimeout > 0 {
		c.armIdle(s.opts.IdleTimeout)
	}
	return t, nil
}

// testTransport hands frames to a channeltest sink.
type testTransport struct {
	sink memconn.Sink
	c    *client
	once sync.Once
}

func (t *testTransport) bind(c *client) { t.c = c }

func (t *testTransport) deadline(time.Time) {}

func (t *testTransport) write(frames []frame) error {
	for _, f := range frames {
		t.sink.Frame(f.data, f.binary)
	}
	return nil
}

func (t *testTransport) close(code int, reason string) {
	t.once.Do(func() {
		t.sink.Closed(code, reason)
		t.c.closed()
	})
}

func (t *testTransport) Send(data []byte, binary bool) error {
	if t.c.isShut() {
		return ErrClosed
	}
	if err := t.c.handle(data, binary); err != nil {
		t.c.closeAfter(closeInternal, "")
		return err
	}
	return nil
}

// Close ends the connection from the client side and returns once every
// session has run Terminate, as ChannelTest's close/2 does.
func (t *testTransport) Close() {
	t.once.Do(t.c.closed)
	t.c.sessions.Wait()
}

func (t *testTransport) SessionID(topic string) string {
	t.c.chMu.Lock()
	defer t.c.chMu.Unlock()
	if s := t.c.channels[topic]; s != nil {
		return s.id
	}
	return ""
}
