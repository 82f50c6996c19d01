package channeltest

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/memconn"
)

// Default timeouts of a Client.
const (
	// DefaultTimeout bounds every wait for something expected (ExUnit's
	// :assert_receive_timeout, raised from 100ms to leave room for -race and
	// busy CI machines).
	DefaultTimeout = time.Second
	// DefaultRefuteTimeout is how long a Refute* watches for something that
	// must not arrive (ExUnit's :refute_receive_timeout).
	DefaultRefuteTimeout = 100 * time.Millisecond
)

// ErrTimeout is wrapped by the error of a wait that ran out of time.
var ErrTimeout = errors.New("channeltest: timed out")

// CloseError is the error of a wait that cannot succeed because the server
// closed the connection; Code is the WebSocket close code (1001 idle or
// disconnect, 1008 slow client, 1011 malformed frame, 1012 shutdown).
type CloseError struct {
	Code   int
	Reason string
}

// Error implements error.
func (e *CloseError) Error() string {
	return fmt.Sprintf("channeltest: the server closed the connection with code %d %q", e.Code, e.Reason)
}

// errClientClosed is the error of a wait after Client.Close.
var errClientClosed = errors.New("channeltest: the client was closed (Client.Close)")

// Client is one in-memory connection to a *phx.Socket, driven by a test:
// the `socket` of Phoenix.ChannelTest. It goes through the socket's real
// client code and the real V2 serializer, so the test sees exactly the
// frames phoenix.js would. Make one with NewClient or Connect; it is closed
// when the test ends.
//
// The Assert*, Refute* and Must* methods of a Client and of its Channels
// report through the testing.TB the Client was made with, so call them from
// that test's goroutine. Every other method is safe from any goroutine.
type Client struct {
	// Timeout bounds every wait for something expected: a join or leave
	// reply, Reply, NextPush, AssertPush, AssertBroadcast, AssertClosed,
	// NextFrame. Zero means DefaultTimeout.
	Timeout time.Duration
	// RefuteTimeout is how long RefuteReply, RefutePush and RefuteBroadcast
	// watch. Zero means DefaultRefuteTimeout. Inside a testing/synctest
	// bubble both cost no real time.
	RefuteTimeout time.Duration

	t    testing.TB
	sock *phx.Socket
	conn memconn.Conn
	from string // the From of BroadcastFrom, skipped by this client's subscriptions
	refs atomic.Uint64

	mu        sync.Mutex
	frames    []*frame // unconsumed, in arrival order
	notify    chan struct{}
	closeErr  *CloseError // the server closed the connection
	userClose bool        // Close was called
	unsubs    []func()
}

var clientIDs atomic.Uint64

// NewClient connects to s as an already authenticated client with socket id
// and assigns, skipping the socket's Connect hook: ChannelTest's
// socket(UserSocket, id, assigns). The connection uses the V2 serializer.
// It is closed when the test ends (t.Cleanup).
func NewClient(t testing.TB, s *phx.Socket, id string, assigns map[string]any) *Client {
	t.Helper()
	c := newClient(t, s)
	conn, err := memconn.Dial(s, memconn.Options{
		Params:     map[string][]string{"vsn": {"2.0.0"}},
		ID:         id,
		Assigns:    assigns,
		RemoteAddr: "192.0.2.1:1",
	}, (*sink)(c))
	if err != nil {
		t.Fatalf("channeltest: NewClient: %v", err)
	}
	c.conn = conn
	t.Cleanup(c.Close)
	return c
}

// Connect connects to s through the socket's Connect hook with the given
// connect params and handshake headers, as a WebSocket client would:
// ChannelTest's connect(UserSocket, params, connect_info: ...). The hook's
// refusal is returned as is. vsn defaults to "2.0.0"; the channel methods
// need V2, while wire mode (SendFrame, NextFrame) works with "1.0.0" too.
// The client is closed when the test ends (t.Cleanup).
func Connect(t testing.TB, s *phx.Socket, params map[string]string, header http.Header) (*Client, error) {
	t.Helper()
	c := newClient(t, s)
	p := map[string][]string{"vsn": {"2.0.0"}}
	for k, v := range params {
		p[k] = []string{v}
	}
	if header == nil {
		header = http.Header{}
	}
	conn, err := memconn.Dial(s, memconn.Options{Params: p, Header: header, RemoteAddr: "192.0.2.1:1", RunConnect: true}, (*sink)(c))
	if err != nil {
		return nil, err
	}
	c.conn = conn
	t.Cleanup(c.Close)
	return c, nil
}

func newClient(t testing.TB, s *phx.Socket) *Client {
	return &Client{
		t:      t,
		sock:   s,
		from:   "channeltest:" + strconv.FormatUint(clientIDs.Add(1), 10),
		notify: make(chan struct{}),
	}
}

// Close ends the connection from the client side, as when the browser tab
// goes away: ChannelTest's close/1. Every channel terminates with
// phx.ErrClosed, and the test's broadcast subscriptions end. Terminate runs
// on the channels' own goroutines and may still be running when Close
// returns; inside a synctest bubble, synctest.Wait() waits for it. Close is
// idempotent and is called at the end of the test.
func (c *Client) Close() {
	c.mu.Lock()
	if c.userClose {
		c.mu.Unlock()
		return
	}
	c.userClose = true
	unsubs := c.unsubs
	c.unsubs = nil
	c.changed()
	c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
	}
	for _, u := range unsubs {
		u()
	}
}

// sink receives the server's frames for a Client.
type sink Client

func (s *sink) Frame(data []byte, binary bool) {
	f := decodeFrame(append([]byte(nil), data...), binary)
	c := (*Client)(s)
	c.mu.Lock()
	c.frames = append(c.frames, f)
	c.changed()
	c.mu.Unlock()
}

func (s *sink) Closed(code int, reason string) {
	c := (*Client)(s)
	c.mu.Lock()
	c.closeErr = &CloseError{Code: code, Reason: reason}
	c.changed()
	c.mu.Unlock()
}

// changed wakes every waiter; c.mu is held.
func (c *Client) changed() {
	close(c.notify)
	c.notify = make(chan struct{})
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) refuteTimeout() time.Duration {
	if c.RefuteTimeout > 0 {
		return c.RefuteTimeout
	}
	return DefaultRefuteTimeout
}

// wait calls check with c.mu held, now and after every change, until it
// reports done or d passes; then it calls check a last time. It reports
// whether check ever reported done. It waits on a channel and a timer, so
// it blocks durably inside a synctest bubble.
func (c *Client) wait(d time.Duration, check func() bool) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		c.mu.Lock()
		done := check()
		ch := c.notify
		c.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			c.mu.Lock()
			defer c.mu.Unlock()
			return check()
		}
	}
}

// take removes and returns the first unconsumed frame matching keep; c.mu
// is held.
func (c *Client) take(keep func(*frame) bool) *frame {
	for i, f := range c.frames {
		if keep(f) {
			c.frames = append(c.frames[:i:i], c.frames[i+1:]...)
			return f
		}
	}
	return nil
}

// ended returns why no more frames will come, or nil; c.mu is held.
func (c *Client) ended() error {
	switch {
	case c.closeErr != nil:
		return c.closeErr
	case c.userClose:
		return errClientClosed
	}
	return nil
}

// pending lists the unconsumed frames for which keep is true, for failure
// messages; c.mu is held.
func (c *Client) pending(keep func(*frame) bool) string {
	var b strings.Builder
	n := 0
	for _, f := range c.frames {
		if keep == nil || keep(f) {
			if n++; n > 10 {
				b.WriteString("\n\t…")
				break
			}
			b.WriteString("\n\t" + f.String())
		}
	}
	if n == 0 {
		return " none"
	}
	return b.String()
}

// newRef returns the next message ref, "1", "2", ... as phoenix.js numbers
// them.
func (c *Client) newRef() string { return strconv.FormatUint(c.refs.Add(1), 10) }

// fatalf fails the test of the Client.
func (c *Client) fatalf(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf(format, args...)
}

// SendFrame sends one raw text frame, exactly as a client would type it
// into wscat, through the socket's real decoder: wire mode, for what
// ChannelTest cannot reach (heartbeats, unmatched topics, duplicate joins,
// the channel limit, stale join refs). A non-nil error means the server
// could not decode the frame; it then closes the connection with 1011.
// Pick refs other than plain integers ("w1") if the same Client also uses
// the channel methods, whose refs count from "1".
func (c *Client) SendFrame(frame string) error { return c.send([]byte(frame), false) }

// SendBinary sends one raw binary frame (PROTOCOL.md §2.3); see SendFrame.
func (c *Client) SendBinary(frame []byte) error { return c.send(frame, true) }

func (c *Client) send(data []byte, binary bool) error {
	c.mu.Lock()
	err := c.ended()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.conn.Send(data, binary)
}

// NextFrame removes and returns the oldest frame the server sent that no
// assertion consumed yet, whatever its topic, waiting up to Timeout. Once
// the frames are exhausted on a closed connection it returns a *CloseError;
// a timeout wraps ErrTimeout.
func (c *Client) NextFrame() (data []byte, binary bool, err error) {
	var f *frame
	c.wait(c.timeout(), func() bool {
		if f = c.take(func(*frame) bool { return true }); f != nil {
			return true
		}
		err = c.ended()
		return err != nil
	})
	switch {
	case f != nil:
		return f.data, f.binary, nil
	case err != nil:
		return nil, false, err
	}
	return nil, false, fmt.Errorf("%w: no frame within %v", ErrTimeout, c.timeout())
}

// AssertFrame fails the test unless the next frame (see NextFrame) is the
// text frame want, byte for byte.
func (c *Client) AssertFrame(want string) {
	c.t.Helper()
	data, binary, err := c.NextFrame()
	switch {
	case err != nil:
		c.fatalf("channeltest: AssertFrame: want frame %s, got: %v", want, err)
	case binary:
		c.fatalf("channeltest: AssertFrame: want text frame %s, got binary frame % x", want, head(data))
	case string(data) != want:
		c.fatalf("channeltest: AssertFrame: frame mismatch\n want %s\n  got %s", want, data)
	}
}

// AssertClosedWith fails the test unless the server closes the connection
// with code within Timeout (frames sent before the close may stay
// unconsumed). The codes phx uses: 1001 idle timeout or Socket.Disconnect,
// 1008 slow client, 1009 frame too large, 1011 malformed frame, 1012
// shutdown.
func (c *Client) AssertClosedWith(code int) {
	c.t.Helper()
	var got *CloseError
	var user bool
	c.wait(c.timeout(), func() bool {
		got, user = c.closeErr, c.userClose
		return got != nil || user
	})
	switch {
	case got == nil && user:
		c.fatalf("channeltest: AssertClosedWith(%d): the test closed the client itself first", code)
	case got == nil:
		c.mu.Lock()
		p := c.pending(nil)
		c.mu.Unlock()
		c.fatalf("channeltest: AssertClosedWith(%d): the connection is still open after %v; unconsumed frames:%s", code, c.timeout(), p)
	case got.Code != code:
		c.fatalf("channeltest: AssertClosedWith(%d): closed with code %d %q", code, got.Code, got.Reason)
	}
}
