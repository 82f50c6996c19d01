package phx

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// lpTarget is what a LongPoll request talks to: the session itself, or a
// relay to the node that holds it.
type lpTarget interface {
	// poll returns the frames waiting for the client, waiting up to the
	// window for some: status 200 with frames, 204 with none, 410 when the
	// session ended meanwhile, 0 when a relayed session does not answer
	// (it is gone: the GET starts a new one, as in Phoenix).
	poll(ctx context.Context) ([][]byte, int)
	// send hands the frames of a POST to the session: 200, 408 when a frame
	// could not be decoded, 410 (or 0 through a relay) when the session is
	// gone.
	send(ctx context.Context, msgs []lpMsg) int
}

func (ls *lpSession) bind(c *client) { ls.c = c }

func (ls *lpSession) poll(ctx context.Context) ([][]byte, int) {
	timer := time.NewTimer(ls.sock.opts.LongPollWindow)
	defer timer.Stop()
	for {
		ls.mu.Lock()
		ls.lastPoll = time.Now()
		frames, closed := ls.buf, ls.closed
		ls.buf = nil
		ls.mu.Unlock()
		switch {
		case len(frames) > 0:
			return frames, 200
		case closed:
			return nil, 410
		}
		select {
		case <-ls.wake:
		case <-timer.C:
			return nil, 204
		case <-ctx.Done():
			return nil, 204
		}
	}
}

func (ls *lpSession) send(_ context.Context, msgs []lpMsg) int {
	for _, m := range msgs {
		if ls.c.isShut() {
			return 410
		}
		if err := ls.c.handle(m.Data, m.Binary); err != nil {
			// Phoenix's session crashes on an undecodable frame and the POST
			// times out with 408; phx answers 408 at once and ends the session.
			ls.sock.stats.malformed.Add(1)
			ls.c.log.Warn("phx: closing the LongPoll session on a frame it cannot decode", "error", err)
			ls.close(closeInternal, "")
			return 408
		}
	}
	return 200
}

func (ls *lpSession) deadline(time.Time) {}

// write buffers a frame for the next poll. LongPoll carries text frames
// only; phoenix.js cannot decode a binary frame there (F-14).
func (ls *lpSession) write(frames []frame) error {
	for _, f := range frames {
		if err := ls.buffer(f); err != nil {
			return err
		}
	}
	return nil
}

func (ls *lpSession) buffer(f frame) error {
	if f.binary {
		ls.c.log.Warn("phx: a binary frame cannot travel over LongPoll; dropped")
		return nil
	}
	ls.mu.Lock()
	if ls.closed {
		ls.mu.Unlock()
		return ErrClosed
	}
	if len(ls.buf) >= ls.sock.opts.OutboundQueue {
		ls.mu.Unlock()
		ls.c.log.Warn("phx: closing a LongPoll session that does not poll: its buffer is full")
		go ls.close(closePolicy, "slow consumer")
		return errors.New("phx: LongPoll buffer full")
	}
	ls.buf = append(ls.buf, f.data)
	ls.mu.Unlock()
	ls.signal()
	return nil
}

func (ls *lpSession) signal() {
	select {
	case ls.wake <- struct{}{}:
	default:
	}
}

// close ends the session; a waiting poll answers 410 and later requests for
// its token find nothing.
func (ls *lpSession) close(code int, reason string) {
	ls.mu.Lock()
	if ls.closed {
		ls.mu.Unlock()
		return
	}
	ls.closed = true
	if ls.inactive != nil {
		ls.inactive.Stop()
	}
	unrelay := ls.unrelay
	ls.mu.Unlock()
	ls.sock.lpMu.Lock()
	delete(ls.sock.lpSessions, ls.id)
	ls.sock.lpMu.Unlock()
	if unrelay != nil {
		unrelay()
	}
	ls.signal()
	ls.c.closed()
}

// checkInactive ends a session that nobody polled for 1.5 windows (LP-9).
func (ls *lpSession) checkInactive() {
	life := ls.sock.lpLifetime()
	ls.mu.Lock()
	since := time.Since(ls.lastPoll)
	if !ls.closed && since < life {
		ls.inactive.Reset(life - since)
		ls.mu.Unlock()
		return
	}
	ls.mu.Unlock()
	ls.close(closeGoingAway, "inactive")
}

// Relaying between nodes (LP-11). A session listens on the PubSub topic
// "phx:lp:<id>"; a node that gets a request for a session it does not hold
// publishes it there with a private reply topic, and waits for the answer.
// No sticky sessions are needed, only a shared PubSub and Secret.

const lpRelayTimeout = 2 * time.Second // Phoenix's pubsub_timeout_ms

type lpRequest struct {
	Kind  string  `json:"kind"` // "poll" or "send"
	Reply string  `json:"reply"`
	Msgs  []lpMsg `json:"msgs,omitempty"`
}

// lpAnswer is a session's answer to a relayed request. The session first
// acknowledges (Ack) at once, so that the asking node learns quickly whether
// the session exists, then answers.
type lpAnswer struct {
	Ack    bool     `json:"ack,omitempty"`
	Status int      `json:"status"`
	Frames []string `json:"frames,omitempty"`
}

func lpTopic(id string) string { return "phx:lp:" + id }

// relay subscribes the session to its PubSub topic.
func (ls *lpSession) relay() error {
	unsub, err := ls.sock.opts.PubSub.Subscribe(lpTopic(ls.id), func(b Broadcast) {
		var req lpRequest
		if json.Unmarshal(b.Payload.Data, &req) != nil || req.Reply == "" {
			return
		}
		go ls.answer(req)
	})
	if err != nil {
		return err
	}
	ls.mu.Lock()
	ls.unrelay = unsub
	ls.mu.Unlock()
	return nil
}

// answer serves a relayed request and publishes the outcome.
func (ls *lpSession) answer(req lpRequest) {
	ls.reply(req.Reply, lpAnswer{Ack: true})
	var a lpAnswer
	switch req.Kind {
	case "poll":
		frames, status := ls.poll(ls.c.ctx)
		a.Status = status
		for _, f := range frames {
			a.Frames = append(a.Frames, string(f))
		}
	case "send":
		a.Status = ls.send(ls.c.ctx, req.Msgs)
	default:
		return
	}
	ls.reply(req.Reply, a)
}

func (ls *lpSession) reply(topic string, a lpAnswer) {
	data, _ := json.Marshal(a)
	ctx, cancel := context.WithTimeout(context.Background(), lpRelayTimeout)
	defer cancel()
	_ = ls.sock.opts.PubSub.Publish(ctx, Broadcast{Topic: topic, Event: "lp_answer", Payload: Payload{Data: data}})
}

// lpRelay forwards requests to a session held by another node.
type lpRelay struct {
	sock *Socket
	id   string
}

func (r *lpRelay) poll(ctx context.Context) ([][]byte, int) {
	a, ok := r.ask(ctx, lpRequest{Kind: "poll"}, r.sock.opts.LongPollWindow+lpRelayTimeout)
	if !ok {
		return nil, a.Status
	}
	frames := make([][]byte, len(a.Frames))
	for i, f := range a.Frames {
		frames[i] = []byte(f)
	}
	return frames, a.Status
}

func (r *lpRelay) send(ctx context.Context, msgs []lpMsg) int {
	a, ok := r.ask(ctx, lpRequest{Kind: "send", Msgs: msgs}, r.sock.opts.LongPollWindow)
	if !ok && a.Status == 0 {
		return 410
	}
	return a.Status
}

// ask publishes req to the session's topic and waits for the answer. It
// fails with Status 0 when the session does not acknowledge within
// lpRelayTimeout (it or its node is gone), and with Status 408 when the
// acknowledged answer does not come within wait.
func (r *lpRelay) ask(ctx context.Context, req lpRequest, wait time.Duration) (lpAnswer, bool) {
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	req.Reply = "phx:lpr:" + base64.RawURLEncoding.EncodeToString(rnd[:])
	answers := make(chan lpAnswer, 2)
	unsub, err := r.sock.opts.PubSub.Subscribe(req.Reply, func(b Broadcast) {
		var a lpAnswer
		if json.Unmarshal(b.Payload.Data, &a) == nil {
			select {
			case answers <- a:
			default:
			}
		}
	})
	if err != nil {
		return lpAnswer{}, false
	}
	defer unsub()
	data, _ := json.Marshal(req)
	if err := r.sock.opts.PubSub.Publish(ctx, Broadcast{Topic: lpTopic(r.id), Event: "lp_request", Payload: Payload{Data: data}}); err != nil {
		return lpAnswer{}, false
	}
	timer := time.NewTimer(lpRelayTimeout)
	defer timer.Stop()
	acked := false
	for {
		select {
		case a := <-answers:
			if !a.Ack {
				return a, true
			}
			if !acked {
				acked = true
				timer.Reset(wait)
			}
		case <-timer.C:
			if acked {
				return lpAnswer{Status: 408}, false
			}
			return lpAnswer{}, false
		case <-ctx.Done():
			return lpAnswer{Status: 204}, false
		}
	}
}
