package phx

import (
	"bufio"
	"bytes"
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
	unrelay  func() // leaves the relay topic
}

// serveLongPoll is <prefix>/longpoll. Every protocol outcome is HTTP 200
// with the real status in the JSON body (LP-1).
func (s *Socket) serveLongPoll(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if !s.originAllowed(r) {
		s.log.Warn("phx: refusing a LongPoll request from a foreign origin; add it to SocketOptions.OriginPatterns if it is yours",
			"origin", r.Header.Get("Origin"), "host", r.Host)
		lpStatus(w, 403)
		return
	}
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
	token := r.Header.Get("X-Phoenix-LongPoll-Token")
	if token == "" {
		// The last one: phoenix.js appends the session token after the
		// app's own params, which may hold a token of their own, and Plug
		// keeps the last value of a repeated key.
		if vs := r.URL.Query()["token"]; len(vs) > 0 {
			token = vs[len(vs)-1]
		}
	}
	target := s.lpResume(token)
	switch {
	case r.Method == http.MethodGet && target != nil:
		frames, status := target.poll(r.Context())
		switch status {
		case 0: // a relayed session that does not answer: start a new one
			s.lpNew(w, r)
		case 408: // its node acknowledged but went quiet: let the client poll again
			lpMessages(w, 204, token, nil)
		case 410: // the session ended: phoenix.js reconnects and rejoins
			lpStatus(w, 410)
		default:
			lpMessages(w, status, token, frames)
		}
	case r.Method == http.MethodGet:
		s.lpNew(w, r)
	case target != nil:
		msgs, err := s.readBatch(w, r)
		if err != nil {
			s.log.Warn("phx: bad LongPoll POST body", "error", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		lpStatus(w, target.send(r.Context(), msgs))
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
	if s.full() {
		s.log.Warn("phx: refusing a LongPoll session: SocketOptions.MaxConnections reached", "max", s.opts.MaxConnections)
		lpStatus(w, 500)
		return
	}
	params := r.URL.Query()
	ser, ok := serializerFor(params)
	if !ok {
		s.log.Warn("phx: refusing a connection with an unsupported vsn; clients must send vsn=1.0.0 or 2.0.0", "vsn", params.Get("vsn"), "transport", "longpoll")
		lpStatus(w, 403)
		return
	}
	info := &Conn{Params: params, Header: r.Header, AuthToken: r.Header.Get("X-Phoenix-AuthToken"),
		RemoteAddr: r.RemoteAddr, Transport: "longpoll"}
	took, err := s.authenticate(r.Context(), info, ser)
	if err != nil {
		lpStatus(w, 403)
		return
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	ls := &lpSession{id: base64.RawURLEncoding.EncodeToString(id[:]), sock: s, wake: make(chan struct{}, 1), lastPoll: time.Now()}
	if s.start(info, ser, ls, took) == nil {
		lpStatus(w, 500)
		return
	}
	s.lpMu.Lock()
	s.lpSessions[ls.id] = ls
	s.lpMu.Unlock()
	if err := ls.relay(); err != nil {
		s.log.Error("phx: cannot subscribe the LongPoll session to the PubSub; requests landing on other nodes will not reach it", "error", err)
	}
	ls.mu.Lock()
	ls.inactive = time.AfterFunc(s.lpLifetime(), ls.checkInactive)
	ls.mu.Unlock()
	lpMessages(w, 410, s.lpSign(ls.id), nil)
}

// lpLifetime is how long a session lives without a poll: 1.5 windows (LP-9).
func (s *Socket) lpLifetime() time.Duration { return s.opts.LongPollWindow * 3 / 2 }

// lpResume finds the session of a token, from the X-Phoenix-LongPoll-Token
// header or the token query parameter (LP-3): the local session, or a relay
// to the node that holds it. nil when the token is missing, forged or
// expired, or names a session of this node that is gone.
func (s *Socket) lpResume(token string) lpTarget {
	node, id, ok := s.lpVerify(token)
	if !ok {
		return nil
	}
	if node != s.nodeID {
		return &lpRelay{sock: s, id: id}
	}
	s.lpMu.Lock()
	defer s.lpMu.Unlock()
	if ls := s.lpSessions[id]; ls != nil {
		return ls
	}
	return nil
}

// lpSign makes a session token: this node's id, the session id and the
// issue time, signed with HMAC-SHA256 under the socket's secret.
func (s *Socket) lpSign(id string) string {
	body := s.nodeID + "." + id + "." + strconv.FormatInt(time.Now().Unix(), 36)
	return body + "." + s.lpMAC(body)
}

func (s *Socket) lpMAC(body string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(lpTokenLabel))
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Socket) lpVerify(token string) (node, id string, ok bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || !hmac.Equal([]byte(token[i+1:]), []byte(s.lpMAC(token[:i]))) {
		return "", "", false
	}
	parts := strings.Split(token[:i], ".")
	if len(parts) != 3 {
		return "", "", false
	}
	t, err := strconv.ParseInt(parts[2], 36, 64)
	if err != nil || time.Since(time.Unix(t, 0)) > lpTokenTTL {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// lpMsg is one inbound frame of a POST.
type lpMsg struct {
	Data   []byte `json:"d"`
	Binary bool   `json:"b,omitempty"`
}

// readBatch reads a POST body (LP-6): an ndjson batch of at most
// LongPollBatch lines
// (text frames start with "[", other lines are base64 binary frames), or,
// for any other content type, the whole body as one text frame.
func (s *Socket) readBatch(w http.ResponseWriter, r *http.Request) ([]lpMsg, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, lpMaxBody))
	if err != nil {
		return nil, err
	}
	if r.Header.Get("Content-Type") != "application/x-ndjson" {
		return []lpMsg{{Data: body}}, nil
	}
	var msgs []lpMsg
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, lpMaxBody)
	for n := 0; sc.Scan(); n++ {
		if n == s.opts.LongPollBatch {
			// Phoenix reads the first 100 lines and ignores the rest.
			s.log.Warn("phx: LongPoll POST over SocketOptions.LongPollBatch lines; the rest of the batch is dropped", "max", s.opts.LongPollBatch)
			break
		}
		line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		switch {
		case len(line) == 0:
		case line[0] == '[':
			msgs = append(msgs, lpMsg{Data: bytes.Clone(line)})
		default:
			data, err := base64.StdEncoding.DecodeString(string(line))
			if err != nil {
				return nil, errors.New("phx: an ndjson line is neither a JSON frame nor base64")
			}
			msgs = append(msgs, lpMsg{Data: data, Binary: true})
		}
	}
	return msgs, sc.Err()
}
