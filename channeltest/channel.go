package channeltest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/memconn"
)

// JoinError is a join the server answered with an error reply: refused by
// the channel (phx.Refuse), crashed ({"reason":"join crashed"}), unrouted
// ({"reason":"unmatched topic"}) or over the channel limit ({"reason":"too
// many channels joined"}). It is ChannelTest's {:error, reply}.
type JoinError struct {
	Topic   string
	Status  string      // "error"
	Payload phx.Payload // the reply's response, e.g. {"reason":"join crashed"}
}

// Error implements error.
func (e *JoinError) Error() string {
	return fmt.Sprintf("channeltest: join %q refused: status %q, response %s", e.Topic, e.Status, showPayload(e.Payload))
}

// Channel is one joined topic of a Client: the socket that ChannelTest's
// subscribe_and_join returns. Frames are routed to it by topic and join ref,
// replies by ref, so assertions on one Channel never consume another's
// frames.
type Channel struct {
	c          *Client
	topic      string
	joinRef    string
	subscribed bool
	broadcasts []memconn.Broadcast // guarded by c.mu; unconsumed, in order
}

// Join subscribes the test to topic's broadcasts, then joins topic through
// the socket's router with payload (nil sends {}), waiting up to Timeout for
// the reply: ChannelTest's subscribe_and_join. It returns the Channel and
// the join reply's response, or a *JoinError when the server answered with
// an error. With the subscription, AssertBroadcast sees what the channel
// broadcasts.
func (c *Client) Join(topic string, payload any) (*Channel, phx.Payload, error) {
	return c.join(topic, payload, true)
}

// JoinOnly joins topic like Join without subscribing the test to its
// broadcasts: ChannelTest's join. AssertBroadcast is unavailable on the
// Channel it returns.
func (c *Client) JoinOnly(topic string, payload any) (*Channel, phx.Payload, error) {
	return c.join(topic, payload, false)
}

// MustJoin is Join for tests that are not about joining: it fails the test
// unless the join succeeds, and returns the Channel (ChannelTest's
// subscribe_and_join!).
func (c *Client) MustJoin(topic string, payload any) *Channel {
	c.t.Helper()
	ch, _, err := c.Join(topic, payload)
	if err != nil {
		c.fatalf("channeltest: could not join channel: %v", err)
	}
	return ch
}

// AssertJoinError fails the test unless joining topic with payload is
// answered with an error reply whose response matches want (see Diff); Any
// accepts every refusal. It is `assert {:error, reply} =
// subscribe_and_join(...)`. Nothing stays subscribed.
func (c *Client) AssertJoinError(topic string, payload any, want any) {
	c.t.Helper()
	ch, reply, err := c.JoinOnly(topic, payload)
	var je *JoinError
	ok := errors.As(err, &je)
	switch {
	case err == nil:
		c.fatalf("channeltest: AssertJoinError: join %q succeeded with response %s, want an error reply %s", ch.topic, showPayload(reply), show(want))
	case !ok:
		c.fatalf("channeltest: AssertJoinError: join %q: %v", topic, err)
	}
	if d := Diff(want, je.Payload); d != "" {
		c.fatalf("channeltest: AssertJoinError: join %q refused with a different response %s", topic, d)
	}
}

func (c *Client) join(topic string, payload any, subscribe bool) (*Channel, phx.Payload, error) {
	p, err := encodePayload(payload)
	if err != nil {
		return nil, phx.Payload{}, fmt.Errorf("channeltest: join %q: encoding the payload: %w", topic, err)
	}
	ref := c.newRef()
	ch := &Channel{c: c, topic: topic, joinRef: ref, subscribed: subscribe}
	var unsub func()
	if subscribe {
		unsub, err = memconn.Subscribe(c.sock, topic, ch.receive)
		if err != nil {
			return nil, phx.Payload{}, fmt.Errorf("channeltest: subscribing to %q: %w", topic, err)
		}
	}
	status, reply, err := ch.call(Ref(ref), "phx_join", p)
	if err == nil && status != "ok" {
		err = &JoinError{Topic: topic, Status: status, Payload: reply}
	}
	if err != nil {
		if unsub != nil {
			unsub()
		}
		return nil, reply, err
	}
	if unsub != nil {
		c.mu.Lock()
		if c.userClose {
			defer unsub()
		} else {
			c.unsubs = append(c.unsubs, unsub)
		}
		c.mu.Unlock()
	}
	return ch, reply, nil
}

// receive is the test's subscription to the channel's topic.
func (ch *Channel) receive(b memconn.Broadcast) {
	if b.From == ch.c.from {
		return // sent by this client's BroadcastFrom, as ChannelTest skips the test process
	}
	c := ch.c
	c.mu.Lock()
	ch.broadcasts = append(ch.broadcasts, b)
	c.changed()
	c.mu.Unlock()
}

// Topic returns the joined topic.
func (ch *Channel) Topic() string { return ch.topic }

// call sends event and waits for the reply to its ref.
func (ch *Channel) call(ref Ref, event string, p phx.Payload) (string, phx.Payload, error) {
	if err := ch.sendAs(string(ref), event, p); err != nil {
		return "", phx.Payload{}, err
	}
	return ch.Reply(ref)
}

func (ch *Channel) sendAs(ref, event string, p phx.Payload) error {
	data, binary, err := encodeMessage(ch.joinRef, ref, ch.topic, event, p)
	if err != nil {
		return fmt.Errorf("channeltest: %s on %q: %w", event, ch.topic, err)
	}
	err = ch.c.send(data, binary)
	var closed *CloseError
	if err == nil || errors.Is(err, phx.ErrClosed) || errors.Is(err, errClientClosed) || errors.As(err, &closed) {
		return nil // a closed connection shows in the wait for the reply
	}
	return fmt.Errorf("channeltest: the server could not decode %s on %q: %w", event, ch.topic, err)
}

// Push sends event with payload to the channel's HandleIn, as the client's
// channel.push(event, payload) does, and returns its ref for Reply and
// AssertReply: ChannelTest's push. payload travels as JSON (nil sends {}),
// or as a binary frame when it is a phx.Binary. Push fails the test if the
// payload cannot be encoded.
func (ch *Channel) Push(event string, payload any) Ref {
	ch.c.t.Helper()
	p, err := encodePayload(payload)
	if err != nil {
		ch.c.fatalf("channeltest: Push(%q): encoding the payload: %v", event, err)
	}
	ref := ch.c.newRef()
	if err := ch.sendAs(ref, event, p); err != nil {
		ch.c.fatalf("%v", err)
	}
	return Ref(ref)
}

// Leave sends phx_leave, as the client's channel.leave() does, and returns
// its ref: ChannelTest's leave. The server replies ok, then sends phx_close,
// then runs Terminate with phx.ErrLeft:
//
//	ch.AssertReply(ch.Leave(), "ok", nil)
//	ch.AssertClosed()
func (ch *Channel) Leave() Ref {
	ch.c.t.Helper()
	return ch.Push("phx_leave", nil)
}

// BroadcastFrom broadcasts event with payload on the channel's topic, from
// the test: ChannelTest's broadcast_from. Every channel joined to the topic
// gets it, this one included (HandleOut for an intercepted event, otherwise
// a push to its client, which AssertPush sees); the test's own subscriptions
// on this Client do not. payload must encode to a JSON object or be a
// phx.Binary.
func (ch *Channel) BroadcastFrom(event string, payload any) error {
	return memconn.Publish(ch.c.sock, ch.topic, event, payload, ch.c.from)
}

// Reply waits up to Timeout for the reply to ref and returns its status and
// response. It is the primitive under AssertReply.
func (ch *Channel) Reply(ref Ref) (status string, payload phx.Payload, err error) {
	c := ch.c
	var f *frame
	c.wait(c.timeout(), func() bool {
		if f = c.take(ch.isReply(ref)); f != nil {
			return true
		}
		err = c.ended()
		return err != nil
	})
	switch {
	case f != nil:
		return f.status, f.payload, nil
	case err != nil:
		return "", phx.Payload{}, fmt.Errorf("no reply to ref %v on %q: %w", ref, ch.topic, err)
	}
	c.mu.Lock()
	p := c.pending(ch.mine)
	c.mu.Unlock()
	return "", phx.Payload{}, fmt.Errorf("%w: no reply to ref %v on %q within %v; unconsumed frames on the topic:%s", ErrTimeout, ref, ch.topic, c.timeout(), p)
}

func (ch *Channel) isReply(ref Ref) func(*frame) bool {
	return func(f *frame) bool {
		return f.bad == nil && f.event == "phx_reply" && f.ref == string(ref) && f.topic == ch.topic
	}
}

// mine tells whether f belongs to this channel's topic.
func (ch *Channel) mine(f *frame) bool { return f.bad == nil && f.topic == ch.topic }

// isPush tells whether f is a push to this channel: one made by the channel
// (its join ref, no ref) or a broadcast forwarded to the client (no join
// ref), as ChannelTest's assert_push sees both.
func (ch *Channel) isPush(f *frame) bool {
	return ch.mine(f) && !f.lifecycle() && f.ref == "" && (f.joinRef == ch.joinRef || f.joinRef == "")
}

// AssertReply fails the test unless the reply to ref arrives within Timeout
// with status and a response matching want (see Diff; Any accepts every
// response): ChannelTest's assert_reply. Asserting the reply before
// checking a side effect guarantees the channel has handled the push.
func (ch *Channel) AssertReply(ref Ref, status string, want any) {
	ch.c.t.Helper()
	got, p, err := ch.Reply(ref)
	switch {
	case err != nil:
		ch.c.fatalf("channeltest: AssertReply: %v", err)
	case got != status:
		ch.c.fatalf("channeltest: AssertReply: reply to ref %v on %q has status %q, want %q; response %s", ref, ch.topic, got, status, showPayload(p))
	}
	if d := Diff(want, p); d != "" {
		ch.c.fatalf("channeltest: AssertReply: reply to ref %v on %q (status %q) has a different response %s", ref, ch.topic, got, d)
	}
}

// RefuteReply fails the test if a reply to ref arrives within
// RefuteTimeout: ChannelTest's refute_reply.
func (ch *Channel) RefuteReply(ref Ref) {
	ch.c.t.Helper()
	c := ch.c
	var f *frame
	c.wait(c.refuteTimeout(), func() bool {
		f = c.take(ch.isReply(ref))
		return f != nil || c.ended() != nil
	})
	if f != nil {
		ch.c.fatalf("channeltest: RefuteReply: got a reply to ref %v on %q: status %q, response %s", ref, ch.topic, f.status, showPayload(f.payload))
	}
}

// NextPush removes and returns the oldest push to this channel that no
// assertion consumed yet, waiting up to Timeout. Replies, phx_close and
// phx_error are not pushes.
func (ch *Channel) NextPush() (event string, payload phx.Payload, err error) {
	c := ch.c
	var f *frame
	c.wait(c.timeout(), func() bool {
		if f = c.take(ch.isPush); f != nil {
			return true
		}
		err = c.ended()
		return err != nil
	})
	switch {
	case f != nil:
		return f.event, f.payload, nil
	case err != nil:
		return "", phx.Payload{}, fmt.Errorf("no push on %q: %w", ch.topic, err)
	}
	return "", phx.Payload{}, fmt.Errorf("%w: no push on %q within %v", ErrTimeout, ch.topic, c.timeout())
}

// AssertPush fails the test unless the channel pushes event with a payload
// matching want (see Diff) within Timeout: ChannelTest's assert_push. Pushes
// made by the channel and broadcasts forwarded to the client both count.
// The first matching push is consumed; pushes that do not match stay
// queued, as in a selective receive.
func (ch *Channel) AssertPush(event string, want any) {
	ch.c.t.Helper()
	c := ch.c
	match := func(f *frame) bool { return ch.isPush(f) && f.event == event && Diff(want, f.payload) == "" }
	var f *frame
	var err error
	c.wait(c.timeout(), func() bool {
		if f = c.take(match); f != nil {
			return true
		}
		err = c.ended()
		return err != nil
	})
	if f != nil {
		return
	}
	c.mu.Lock()
	var diffs []string
	for _, g := range c.frames {
		if ch.isPush(g) && g.event == event {
			diffs = append(diffs, Diff(want, g.payload))
		}
	}
	p := c.pending(ch.mine)
	c.mu.Unlock()
	why := fmt.Sprintf("within %v", c.timeout())
	if err != nil {
		why = fmt.Sprintf("before the connection ended (%v)", err)
	}
	msg := fmt.Sprintf("channeltest: AssertPush: no push %q on %q matching %s %s", event, ch.topic, show(want), why)
	for i, d := range diffs {
		msg += fmt.Sprintf("\npush %q #%d differs %s", event, i+1, d)
	}
	c.fatalf("%s\nunconsumed frames on the topic:%s", msg, p)
}

// RefutePush fails the test if the channel pushes event within
// RefuteTimeout: ChannelTest's refute_push.
func (ch *Channel) RefutePush(event string) {
	ch.c.t.Helper()
	c := ch.c
	var f *frame
	c.wait(c.refuteTimeout(), func() bool {
		f = c.take(func(f *frame) bool { return ch.isPush(f) && f.event == event })
		return f != nil || c.ended() != nil
	})
	if f != nil {
		c.fatalf("channeltest: RefutePush: got push %q on %q with payload %s", event, ch.topic, showPayload(f.payload))
	}
}

// NextBroadcast removes and returns the oldest broadcast on the channel's
// topic that the test's subscription received and no assertion consumed,
// waiting up to Timeout. It needs a Channel made by Join.
func (ch *Channel) NextBroadcast() (event string, payload phx.Payload, err error) {
	b, err := ch.takeBroadcast(ch.c.timeout(), func(memconn.Broadcast) bool { return true })
	if err != nil {
		return "", phx.Payload{}, err
	}
	return b.Event, phx.Payload{Data: b.Payload, Binary: b.Binary}, nil
}

func (ch *Channel) takeBroadcast(d time.Duration, match func(memconn.Broadcast) bool) (memconn.Broadcast, error) {
	if !ch.subscribed {
		return memconn.Broadcast{}, fmt.Errorf("channeltest: %q was joined with JoinOnly, which does not subscribe the test to its broadcasts; use Join", ch.topic)
	}
	c := ch.c
	var got memconn.Broadcast
	found := c.wait(d, func() bool {
		for i, b := range ch.broadcasts {
			if match(b) {
				got = b
				ch.broadcasts = append(ch.broadcasts[:i:i], ch.broadcasts[i+1:]...)
				return true
			}
		}
		return false
	})
	if !found {
		return got, fmt.Errorf("%w: no broadcast on %q within %v", ErrTimeout, ch.topic, d)
	}
	return got, nil
}

// AssertBroadcast fails the test unless event with a payload matching want
// (see Diff) is broadcast on the channel's topic within Timeout:
// ChannelTest's assert_broadcast. It sees what the test's subscription
// received, so it needs a Channel made by Join; the test's own
// BroadcastFrom is not seen.
func (ch *Channel) AssertBroadcast(event string, want any) {
	ch.c.t.Helper()
	c := ch.c
	_, err := ch.takeBroadcast(c.timeout(), func(b memconn.Broadcast) bool {
		return b.Event == event && Diff(want, phx.Payload{Data: b.Payload, Binary: b.Binary}) == ""
	})
	if err == nil {
		return
	}
	var others []string
	c.mu.Lock()
	for _, b := range ch.broadcasts {
		p := phx.Payload{Data: b.Payload, Binary: b.Binary}
		if b.Event == event {
			others = append(others, fmt.Sprintf("\nbroadcast %q differs %s", event, Diff(want, p)))
		} else {
			others = append(others, fmt.Sprintf("\nbroadcast %q %s", b.Event, showPayload(p)))
		}
	}
	c.mu.Unlock()
	c.fatalf("channeltest: AssertBroadcast %q matching %s: %v%s", event, show(want), err, strings.Join(others, ""))
}

// RefuteBroadcast fails the test if event is broadcast on the channel's
// topic within RefuteTimeout: ChannelTest's refute_broadcast.
func (ch *Channel) RefuteBroadcast(event string) {
	ch.c.t.Helper()
	b, err := ch.takeBroadcast(ch.c.refuteTimeout(), func(b memconn.Broadcast) bool { return b.Event == event })
	switch {
	case err == nil:
		ch.c.fatalf("channeltest: RefuteBroadcast: got broadcast %q on %q with payload %s", event, ch.topic, showPayload(phx.Payload{Data: b.Payload, Binary: b.Binary}))
	case !errors.Is(err, ErrTimeout):
		ch.c.fatalf("channeltest: RefuteBroadcast: %v", err)
	}
}

// Ended waits up to Timeout for the end of the channel and returns the
// frame that told the client: "phx_close" (stopped normally, left, or
// replaced by a duplicate join) or "phx_error" (crashed).
func (ch *Channel) Ended() (event string, err error) {
	c := ch.c
	var f *frame
	c.wait(c.timeout(), func() bool {
		f = c.take(func(f *frame) bool {
			return ch.mine(f) && f.joinRef == ch.joinRef && (f.event == "phx_close" || f.event == "phx_error")
		})
		if f != nil {
			return true
		}
		err = c.ended()
		return err != nil
	})
	switch {
	case f != nil:
		return f.event, nil
	case err != nil:
		return "", fmt.Errorf("channel %q did not end before the connection did: %w", ch.topic, err)
	}
	c.mu.Lock()
	p := c.pending(ch.mine)
	c.mu.Unlock()
	return "", fmt.Errorf("%w: channel %q still open after %v; unconsumed frames on the topic:%s", ErrTimeout, ch.topic, c.timeout(), p)
}

// AssertClosed fails the test unless the channel stops normally within
// Timeout: the client gets phx_close (HandleIn returned phx.ErrStop, the
// test left, or a duplicate join replaced it) and does not rejoin.
func (ch *Channel) AssertClosed() { ch.c.t.Helper(); ch.assertEnded("phx_close", "AssertClosed") }

// AssertCrashed fails the test unless the channel crashes within Timeout:
// the client gets phx_error (a callback returned an error or panicked) and
// would rejoin.
func (ch *Channel) AssertCrashed() { ch.c.t.Helper(); ch.assertEnded("phx_error", "AssertCrashed") }

func (ch *Channel) assertEnded(want, name string) {
	ch.c.t.Helper()
	got, err := ch.Ended()
	switch {
	case err != nil:
		ch.c.fatalf("channeltest: %s: %v", name, err)
	case got != want:
		ch.c.fatalf("channeltest: %s: channel %q ended with %s, want %s", name, ch.topic, got, want)
	}
}
