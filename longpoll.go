package phx

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phxgo/phx/internal/wire"
)

// LongPoll limits (PROTOCOL.md §9, §11).
const (
	lpMaxBatch   = 100     // ndjson lines read from one POST, as Phoenix
	lpMaxBody    = 8 << 20 // bytes of one POST body
	lpTokenLabel = "phx-longpoll-v1"
	lpTokenTTL   = 14 * 24 * time.Hour
)

// lpSession is one LongPoll client: the transport under a client. Frames
// wait in buf until a poll takes them. The client's writer goroutine appends;
// poll requests take.
type lpSession struct {
	id   string
	sock *Socket
	c    *client

	mu       sync.Mutex // guards the fields below
	buf      [][]byte   // encoded frames, oldest first
	wake     chan struct{}
	lastPoll time.Time
	closed   bool
	inactive *time.Timer
}

// serveLongPoll is <prefix>/longpoll. Every protocol outcome is HTTP 200
// with the real status in the JSON body (LP-1).
func (s *Socket) serveLongPoll(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Headers", strings.Join(r.Header.Values("Access-Control-Request-Headers"), ", "))
		h.Set("Access-Control-Allow-Methods", "get, post, options")
		h.Set("Access-Control-Max-Age", "3600")
		w.WriteHeader(http.StatusOK)
		return
	case http.MethodGet, http.MethodPost:
	default:
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if !s.originAllowed(r) {
		s.log.Warn("phx: refusing a LongPoll request from a foreign origin; add it to SocketOptions.OriginPatterns if it is yours",
			"origin", r.Header.Get("Origin"), "host", r.Host)
		lpStatus(w, 403)
		return
	}
	ls := s.lpResume(r)
	switch {
	case r.Method == http.MethodGet && ls != nil:
		ls.poll(w, r)
	case r.Method == http.MethodGet:
		s.lpNew(w, r)
	case ls != nil:
		ls.publish(w, r)
	default:
		lpStatus(w, 410)
	}
}

// lpStatus answers {"status":code}.
func lpStatus(w http.ResponseWriter, code int) {
	lpJSON(w, []byte(`{"status":`+strconv.Itoa(code)+`}`))
}

func lpJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// lpMessages answers {"messages":[...],"status":code,"token":token}, each
// frame JSON-encoded as a string (LP-8), keys in Phoenix's order.
func lpMessages(w http.ResponseWriter, code int, token string, frames [][]byte) {
	b := append(make([]byte, 0, 64), `{"messages":[`...)
	for i, f := range frames {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendString(b, string(f))
	}
	b = append(b, `],"status":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"token":`...)
	b = wire.AppendString(b, token)
	lpJSON(w, append(b, '}'))
}

// lpNew starts a session: Connect runs with the query params and the
// X-Phoenix-AuthToken header (LP-4).
func (s *Socket) lpNew(w http.ResponseWriter, r *http.Request) {
	if s.isDraining() {
		lpStatus(w, 500) // phoenix.js retries after a 500
		return
	}
	params := r.URL.Query()
	ser, ok := serializerFor(params)
	if !ok {
		s.log.Warn("phx: refusing a connection with an unsupported vsn; clients must send vsn=1.0.0 or 2.0.0", "vsn", params.Get("vsn"), "transport", "longpoll")
		lpStatus(w, 403)
		return
	}
	info := &Conn{Params: params, Header: r.Header.Clone(), AuthToken: r.Header.Get("X-Phoenix-AuthToken"),
		RemoteAddr: r.RemoteAddr, Transport: "longpoll"}
	took, err := s.authenticate(r.Context(), info, ser)
	if err != nil {
		lpStatus(w, 403)
		return
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	ls := &lpSession{id: base64.RawURLEncoding.EncodeToString(id[:]), sock: s, wake: make(chan struct{}, 1), lastPoll: time.Now()}
	ls.c = s.start(info, ser, ls, took)
	if ls.c == nil {
		lpStatus(w, 500)
		return
	}
	s.lpMu.Lock()
	s.lpSessions[ls.id] = ls
	s.lpMu.Unlock()
	ls.mu.Lock()
	ls.inactive = time.AfterFunc(s.lpLifetime(), ls.checkInactive)
	ls.mu.Unlock()
	lpMessages(w, 410, s.lpSign(ls.id), nil)
}

// lpLifetime is how long a session lives without a poll: 1.5 windows (LP-9).
func (s *Socket) lpLifetime() time.Duration { return s.opts.LongPollWindow * 3 / 2 }

// lpResume finds the session of the request's token: the
// X-Phoenix-LongPoll-Token header first, then the token query parameter
// (LP-3). nil when there is none, or it is forged, expired or gone.
func (s *Socket) lpResume(r *http.Request) *lpSession {
	token := r.Header.Get("X-Phoenix-LongPoll-Token")
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	id, ok := s.lpVerify(token)
	if !ok {
		return nil
	}
	s.lpMu.Lock()
	defer s.lpMu.Unlock()
	return s.lpSessions[id]
}

// lpSign makes a session token: the session id and issue time, signed with
// HMAC-SHA256 under the socket's secret.
func (s *Socket) lpSign(id string) string {
	body := id + "." + strconv.FormatInt(time.Now().Unix(), 36)
	return body + "." + s.lpMAC(body)
}

func (s *Socket) lpMAC(body string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(lpTokenLabel))
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Socket) lpVerify(token string) (string, bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || !hmac.Equal([]byte(token[i+1:]), []byte(s.lpMAC(token[:i]))) {
		return "", false
	}
	id, issued, ok := strings.Cut(token[:i], ".")
	t, err := strconv.ParseInt(issued, 36, 64)
	if !ok || err != nil || time.Since(time.Unix(t, 0)) > lpTokenTTL {
		return "", false
	}
	return id, true
}

// poll answers a GET with the buffered frames, waiting up to the window for
// some (LP-5).
func (ls *lpSession) poll(w http.ResponseWriter, r *http.Request) {
	token := r.Header.Get("X-Phoenix-LongPoll-Token")
	if token == "" {
		token = r.URL.Query().Get("token")
	}
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
			lpMessages(w, 200, token, frames)
			return
		case closed:
			lpStatus(w, 410) // the session is gone: phoenix.js reconnects and rejoins
			return
		}
		select {
		case <-ls.wake:
		case <-timer.C:
			lpMessages(w, 204, token, nil)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// publish hands the frames of a POST to the client (LP-6): an ndjson batch
// of at most 100 lines (text frames start with "[", others are base64 binary
// frames), or, for any other content type, the whole body as one text frame.
func (ls *lpSession) publish(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, lpMaxBody))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	type msg struct {
		data   []byte
		binary bool
	}
	var msgs []msg
	if r.Header.Get("Content-Type") == "application/x-ndjson" {
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, lpMaxBody)
		for n := 0; sc.Scan(); n++ {
			if n == lpMaxBatch {
				ls.c.log.Warn("phx: LongPoll batch over 100 lines; the rest is dropped, as Phoenix does")
				break
			}
			line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
			switch {
			case len(line) == 0:
			case line[0] == '[':
				msgs = append(msgs, msg{data: bytes.Clone(line)})
			default:
				data, err := base64.StdEncoding.DecodeString(string(line))
				if err != nil {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				msgs = append(msgs, msg{data: data, binary: true})
			}
		}
	} else {
		msgs = append(msgs, msg{data: body})
	}
	for _, m := range msgs {
		if ls.c.isShut() {
			lpStatus(w, 410)
			return
		}
		if err := ls.c.handle(m.data, m.binary); err != nil {
			// Phoenix's session crashes on an undecodable frame and the POST
			// times out with 408; phx answers 408 at once and ends the session.
			ls.c.log.Warn("phx: closing the LongPoll session on a frame it cannot decode", "error", err)
			ls.close(closeInternal, "")
			lpStatus(w, 408)
			return
		}
	}
	lpStatus(w, 200)
}

// write buffers a frame for the next poll. LongPoll carries text frames
// only; phoenix.js cannot decode a binary frame there (F-14).
func (ls *lpSession) write(_ context.Context, f frame) error {
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
	select {
	case ls.wake <- struct{}{}:
	default:
	}
	return nil
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
	ls.mu.Unlock()
	ls.sock.lpMu.Lock()
	delete(ls.sock.lpSessions, ls.id)
	ls.sock.lpMu.Unlock()
	select {
	case ls.wake <- struct{}{}:
	default:
	}
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
