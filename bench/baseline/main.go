// Command baseline is the thinnest Phoenix Channels server worth measuring
// phx against: coder/websocket, one reader and one writer goroutine per
// connection, a buffered channel between them, and just the subset of the
// protocol that bench/run.sh exercises on the RoomChannel of
// examples/hellosockets:
//
//	[JR,REF,"room:lobby","phx_join",P] → [JR,REF,"room:lobby","phx_reply",{"response":{},"status":"ok"}]
//	[JR,REF,"room:lobby","ping",P]     → [JR,REF,"room:lobby","phx_reply",{"response":P,"status":"ok"}]
//	[JR,REF,"room:lobby","shout",P]    → [null,null,"room:lobby","shout",P] to every joined connection
//	[null,REF,"phoenix","heartbeat",{}] → [null,REF,"phoenix","phx_reply",{"response":{},"status":"ok"}]
//
// The frames are byte for byte those phx sends for payloads written
// compactly with sorted keys (phx re-encodes payloads that way; the
// baseline passes them through). A join of another topic gets Phoenix's
// "join crashed" error and a message for a topic not joined gets
// "unmatched topic". A connection whose queue overflows is closed (drop and
// close), as phx closes a slow client. It imports nothing from phx.
//
//	go run ./bench/baseline -addr 127.0.0.1:4001
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

var (
	lobby     = []byte(`"room:lobby"`)
	phoenix   = []byte(`"phoenix"`)
	heartbeat = []byte(`"heartbeat"`)
	join      = []byte(`"phx_join"`)
	ping      = []byte(`"ping"`)
	shout     = []byte(`"shout"`)
	null      = []byte("null")
)

// server holds the connections joined to room:lobby.
type server struct {
	queue int
	mu    sync.RWMutex
	room  map[*conn]struct{}
}

// conn is one connection: the handler goroutine reads, writer writes what
// arrives on out.
type conn struct {
	ws      *websocket.Conn
	out     chan []byte
	done    chan struct{}
	once    sync.Once
	joinRef []byte // raw JSON of the lobby join, nil until joined
}

func main() {
	addr := flag.String("addr", "127.0.0.1:4001", "listen address host:port")
	queue := flag.Int("queue", 128, "frames queued per connection before it is closed as too slow")
	flag.Parse()
	s := &server{queue: *queue, room: make(map[*conn]struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/socket/websocket", s.serve)
	log.Printf("baseline listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	c := &conn{ws: ws, out: make(chan []byte, s.queue), done: make(chan struct{})}
	go c.writer()
	defer s.drop(c)
	for {
		_, msg, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		if err := s.handle(c, msg); err != nil {
			ws.Close(websocket.StatusInternalError, "")
			return
		}
	}
}

// writer writes queued frames until the connection ends.
func (c *conn) writer() {
	for {
		select {
		case f := <-c.out:
			if c.ws.Write(context.Background(), websocket.MessageText, f) != nil {
				c.close()
				return
			}
		case <-c.done:
			return
		}
	}
}

// send queues f, closing the connection if its queue is full.
func (c *conn) send(f []byte) {
	select {
	case c.out <- f:
	default:
		go c.ws.Close(websocket.StatusPolicyViolation, "slow consumer")
		c.close()
	}
}

func (c *conn) close() { c.once.Do(func() { close(c.done) }) }

// drop forgets a connection that ended.
func (s *server) drop(c *conn) {
	c.close()
	s.mu.Lock()
	delete(s.room, c)
	s.mu.Unlock()
	c.ws.CloseNow()
}

// handle answers one frame; an error means it was malformed.
func (s *server) handle(c *conn, msg []byte) error {
	p, err := split(msg)
	if err != nil {
		return err
	}
	jr, ref, topic, event, payload := p[0], p[1], p[2], p[3], p[4]
	switch {
	case bytes.Equal(topic, phoenix) && bytes.Equal(event, heartbeat):
		c.send(reply(nil, ref, topic, "ok", []byte("{}")))
	case bytes.Equal(event, join):
		if !bytes.Equal(topic, lobby) {
			c.send(reply(jr, ref, topic, "error", []byte(`{"reason":"join crashed"}`)))
			return nil
		}
		s.mu.Lock()
		c.joinRef = bytes.Clone(jr)
		s.room[c] = struct{}{}
		s.mu.Unlock()
		c.send(reply(jr, ref, topic, "ok", []byte("{}")))
	case c.joinRef == nil || !bytes.Equal(topic, lobby):
		c.send(reply(nil, ref, topic, "error", []byte(`{"reason":"unmatched topic"}`)))
	case bytes.Equal(event, ping):
		c.send(reply(c.joinRef, ref, topic, "ok", payload))
	case bytes.Equal(event, shout):
		f := make([]byte, 0, len(payload)+40)
		f = append(append(append(f, `[null,null,"room:lobby","shout",`...), payload...), ']')
		s.mu.RLock()
		for m := range s.room {
			m.send(f)
		}
		s.mu.RUnlock()
	}
	return nil
}

// reply encodes [join_ref,ref,topic,"phx_reply",{"response":resp,"status":status}];
// a nil joinRef is written as null.
func reply(joinRef, ref, topic []byte, status string, resp []byte) []byte {
	if joinRef == nil {
		joinRef = null
	}
	f := make([]byte, 0, len(joinRef)+len(ref)+len(topic)+len(resp)+64)
	f = append(f, '[')
	f = append(append(f, joinRef...), ',')
	f = append(append(f, ref...), ',')
	f = append(append(f, topic...), `,"phx_reply",{"response":`...)
	f = append(f, resp...)
	f = append(append(append(f, `,"status":"`...), status...), `"}]`...)
	return f
}

var errMalformed = errors.New("malformed frame")

// split returns the five raw JSON elements of a V2 frame written compactly
// (as phoenix.js and phxbench write them).
func split(b []byte) ([5][]byte, error) {
	var p [5][]byte
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return p, errMalformed
	}
	i := 1
	for n := 0; n < 5; n++ {
		end, err := value(b, i)
		if err != nil {
			return p, err
		}
		p[n] = b[i:end]
		want := byte(',')
		if n == 4 {
			want = ']'
		}
		if end >= len(b) || b[end] != want {
			return p, errMalformed
		}
		i = end + 1
	}
	if i != len(b) {
		return p, errMalformed
	}
	return p, nil
}

// value returns the index just past the JSON value starting at b[i]: a
// string, an object or array (strings inside skipped), or a scalar running
// to the next ',' or ']'.
func value(b []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			for j++; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if j >= len(b) {
				return 0, errMalformed
			}
			if depth == 0 {
				return j + 1, nil
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return nonEmpty(i, j)
			}
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		case ',':
			if depth == 0 {
				return nonEmpty(i, j)
			}
		}
	}
	return 0, errMalformed
}

func nonEmpty(i, end int) (int, error) {
	if end == i {
		return 0, errMalformed
	}
	return end, nil
}
