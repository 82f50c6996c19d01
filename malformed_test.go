package phx_test

// Malformed frames under load (issue 6, PROTOCOL.md M-1): every connection
// that sends a frame the server cannot decode is closed with 1011 and no
// frame first, while well-behaved connections on the same server are not
// disturbed.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phxgo/phx"
)

// rbBad is one kind of malformed frame.
type rbBad struct {
	name   string
	v1     bool // sent on a vsn=1.0.0 connection
	binary bool
	frame  string
}

// rbBadFrames lists every kind of frame that Phoenix's serializers cannot
// decode (F-2, F-7, F-13).
func rbBadFrames() []rbBad {
	return []rbBad{
		{name: "not JSON", frame: `crash`},
		{name: "empty", frame: ``},
		{name: "invalid UTF-8", frame: "\xff\xfe"},
		{name: "four elements", frame: `["1","3","room:bad","ping"]`},
		{name: "three elements", frame: `["1","3","room:bad"]`},
		{name: "empty array", frame: `[]`},
		{name: "object", frame: `{"topic":"room:bad","event":"ping","payload":{},"ref":"3"}`},
		{name: "string", frame: `"hello"`},
		{name: "number", frame: `42`},
		{name: "null", frame: `null`},
		{name: "truncated", frame: `["1","3","room:bad","ping",{}`},
		{name: "trailing garbage", frame: `["1","3","room:bad","ping",{}]]`},
		{name: "nesting 20000 deep", frame: strings.Repeat("[", 20000) + strings.Repeat("]", 20000)},
		{name: "64 KiB of garbage", frame: strings.Repeat("x", 64<<10)},
		{name: "64 KiB payload, unterminated", frame: `["1","3","room:bad","ping",{"d":"` + strings.Repeat("x", 64<<10)},
		{name: "v1 missing topic", v1: true, frame: `{"event":"ping","payload":{},"ref":"3"}`},
		{name: "v1 missing event", v1: true, frame: `{"topic":"room:bad","payload":{},"ref":"3"}`},
		{name: "v1 missing payload", v1: true, frame: `{"topic":"room:bad","event":"ping","ref":"3"}`},
		{name: "v1 missing ref", v1: true, frame: `{"topic":"room:bad","event":"ping","payload":{}}`},
		{name: "v1 array", v1: true, frame: `["1","3","room:bad","ping",{}]`},
		{name: "v1 null", v1: true, frame: `null`},
		{name: "v1 not JSON", v1: true, frame: `{topic}`},
		{name: "v1 binary frame", v1: true, binary: true, frame: "\x00\x01\x01\x08\x04" + "13room:badping"},
		{name: "binary empty", binary: true, frame: ""},
		{name: "binary 1 byte", binary: true, frame: "\x00"},
		{name: "binary 4-byte header", binary: true, frame: "\x00\x01\x01\x08"},
		{name: "binary kind 1 (reply)", binary: true, frame: "\x01\x01\x01\x08\x02" + "13room:badok"},
		{name: "binary kind 2 (broadcast)", binary: true, frame: "\x02\x08\x04" + "room:badping"},
		{name: "binary kind 255", binary: true, frame: "\xff\x01\x01\x08\x04" + "13room:badping"},
		{name: "binary truncated fields", binary: true, frame: "\x00\x05\x00\x00\x00ab"},
		{name: "binary huge lengths", binary: true, frame: "\x00\xff\xff\xff\xff" + strings.Repeat("z", 300)},
		{name: "binary event cut short", binary: true, frame: "\x00\x01\x01\x08\x04" + "13room:badpin"},
	}
}

// V1 and V2 frames of the malformed-frame test.
func rbV1Join(topic string) string {
	return `{"topic":"` + topic + `","event":"phx_join","payload":{},"ref":"1"}`
}

func rbV1Joined(topic string) string {
	return `{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"` + topic + `"}`
}

func rbPing(v1 bool, topic, ref string) string {
	if v1 {
		return `{"topic":"` + topic + `","event":"ping","payload":{},"ref":"` + ref + `"}`
	}
	return `["1","` + ref + `","` + topic + `","ping",{}]`
}

func rbPong(v1 bool, topic, ref string) string {
	if v1 {
		return `{"event":"phx_reply","payload":{"response":{"ping":"pong"},"status":"ok"},"ref":"` + ref + `","topic":"` + topic + `"}`
	}
	return `["1","` + ref + `","` + topic + `","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`
}

func rbSeqFrame(v1 bool, topic, event string, seq int) string {
	if v1 {
		return `{"event":"` + event + `","payload":{"seq":` + strconv.Itoa(seq) + `},"ref":null,"topic":"` + topic + `"}`
	}
	return `[null,null,"` + topic + `","` + event + `",{"seq":` + strconv.Itoa(seq) + `}]`
}

// rbOffend runs one offending connection: a valid join and ping, then the
// bad frame. When pipelined, the bad frame follows the ping without waiting
// for its reply, which may then be lost with the connection (as in Phoenix,
// whose channel process dies with the socket).
func rbOffend(ctx context.Context, ts *testServer, bad rbBad, pipelined bool) error {
	q := "vsn=2.0.0"
	if bad.v1 {
		q = "vsn=1.0.0"
	}
	c, err := rbRawDial(ctx, ts, q, 0)
	if err != nil {
		return err
	}
	defer c.close()
	c.deadline(time.Now().Add(timeout))
	const topic = "room:bad"
	if bad.v1 {
		err = c.send(rbV1Join(topic))
		if err == nil {
			err = c.expect(rbV1Joined(topic))
		}
	} else {
		err = c.join(topic, `"1"`)
	}
	if err == nil {
		err = c.send(rbPing(bad.v1, topic, "2"))
	}
	if err == nil && !pipelined {
		err = c.expect(rbPong(bad.v1, topic, "2"))
	}
	if err != nil {
		return fmt.Errorf("%s: before the bad frame: %w", bad.name, err)
	}
	if bad.binary {
		err = c.sendBinary([]byte(bad.frame))
	} else {
		err = c.send(bad.frame)
	}
	if err != nil {
		return fmt.Errorf("%s: sending: %w", bad.name, err)
	}
	op, p, err := c.next()
	if pipelined && err == nil && op == 0x1 && string(p) == rbPong(bad.v1, topic, "2") {
		op, p, err = c.next()
	}
	switch {
	case err == nil:
		return fmt.Errorf("%s: got a frame (opcode %d) %.200s, want close 1011", bad.name, op, p)
	case rbCloseCode(err) != 1011:
		return fmt.Errorf("%s: connection ended with %v, want close 1011", bad.name, err)
	}
	return nil
}

// 1,000 connections each send one malformed frame, of every kind in
// rbBadFrames, after a valid join and ping, from 50 goroutines at once;
// meanwhile 20 well-behaved connections (V1 and V2) keep pinging and
// receive 1,000 broadcasts. Each offender is closed with 1011 with no frame
// but the replies to its valid messages; the well-behaved connections get
// every reply and every broadcast in order; Stats().Malformed counts the
// offenders; nothing panics.
func TestMalformedFramesUnderLoad(t *testing.T) {
	const (
		workers  = 50
		perW     = 20
		nBad     = workers * perW
		nGood    = 20
		goodRoom = "room:good"
	)
	watch := &rbWatch{}
	closed1011 := watch.on("phx: closing the connection on a frame it cannot decode", nBad)
	var httpErrs logBuffer
	ts := rbServer(t, nil, func(s *phx.Socket) { s.Channel("room:*", &roomChannel{}) },
		rbServerOpts{watch: watch, quiet: true, httpErrors: &httpErrs})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kinds := rbBadFrames()

	// The well-behaved connections, joined before the storm starts.
	type goodConn struct {
		c  *rbRaw
		v1 bool
	}
	good := make([]goodConn, nGood)
	for i := range good {
		v1 := i%2 == 1
		q := "vsn=2.0.0"
		if v1 {
			q = "vsn=1.0.0"
		}
		c, err := rbRawDial(ctx, ts, q, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.close)
		c.deadline(time.Now().Add(time.Minute))
		if v1 {
			err = c.send(rbV1Join(goodRoom))
			if err == nil {
				err = c.expect(rbV1Joined(goodRoom))
			}
		} else {
			err = c.join(goodRoom, `"1"`)
		}
		if err != nil {
			t.Fatalf("well-behaved connection %d: %v", i, err)
		}
		good[i] = goodConn{c, v1}
	}

	// A failure cancels ctx, which unblocks the readers.
	stopReaders := context.AfterFunc(ctx, func() {
		for _, g := range good {
			g.c.close()
		}
	})
	defer stopReaders()

	// The broadcaster publishes one broadcast per finished offender, so the
	// broadcasts are spread over the storm.
	finished := make(chan struct{}, nBad)
	published := make(chan struct{})
	var errs rbErrs
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		defer close(published)
		for seq := range nBad {
			select {
			case <-finished:
			case <-ctx.Done():
				errs.add(fmt.Errorf("broadcaster: %d offenders finished in time, want %d", seq, nBad))
				return
			}
			errs.add(ts.sock.Broadcast(ctx, goodRoom, "tick", map[string]int{"seq": seq}))
		}
	}()

	// Each well-behaved connection: a pinger that sends a ping once the
	// reply to the previous one came, and a reader that checks every frame.
	stop := make(chan struct{})
	pings := make([]int, nGood)
	for i, g := range good {
		replies := make(chan struct{}, 1)
		readerDone := make(chan struct{})
		bg.Add(2)
		go func() { // reader
			defer bg.Done()
			defer close(readerDone)
			nextPong, nextSeq := 0, 0
			for {
				got, err := g.c.read()
				if err != nil {
					errs.add(fmt.Errorf("well-behaved connection %d after %d replies and %d broadcasts: %w", i, nextPong, nextSeq, err))
					return
				}
				switch got {
				case rbSeqFrame(g.v1, goodRoom, "tick", nextSeq):
					nextSeq++
				case rbPong(g.v1, goodRoom, strconv.Itoa(nextPong)):
					nextPong++
					replies <- struct{}{}
				case rbPong(g.v1, goodRoom, "end"):
					if nextSeq != nBad {
						errs.add(fmt.Errorf("well-behaved connection %d: %d broadcasts, want %d", i, nextSeq, nBad))
					}
					return
				default:
					errs.add(fmt.Errorf("well-behaved connection %d: unexpected frame %s (want reply %d or broadcast %d)", i, got, nextPong, nextSeq))
					return
				}
			}
		}()
		go func() { // pinger
			defer bg.Done()
			for n := 0; ; n++ {
				if err := g.c.send(rbPing(g.v1, goodRoom, strconv.Itoa(n))); err != nil {
					errs.add(err)
					return
				}
				select {
				case <-replies:
				case <-readerDone:
					return
				}
				select {
				case <-stop:
					pings[i] = n + 1
					// All broadcasts were queued before this reply.
					errs.add(g.c.send(rbPing(g.v1, goodRoom, "end")))
					return
				default:
				}
			}
		}()
	}

	start := time.Now()
	var storm sync.WaitGroup
	for w := range workers {
		storm.Add(1)
		go func() {
			defer storm.Done()
			for j := range perW {
				n := w*perW + j
				if err := rbOffend(ctx, ts, kinds[n%len(kinds)], n%2 == 1); err != nil {
					errs.add(err)
					cancel() // stop everything: the test has failed
					return
				}
				finished <- struct{}{}
			}
		}()
	}
	storm.Wait()
	stormTook := time.Since(start)
	if ctx.Err() != nil {
		bg.Wait()
		errs.check(t, "malformed-frame storm")
	}
	rbWait(t, closed1011, timeout, "logging 1,000 closes with 1011")
	// Every broadcast is published before the pingers send their last ping.
	rbWait(t, published, timeout, "publishing the broadcasts")
	close(stop)
	bg.Wait()
	errs.check(t, "malformed-frame storm")

	stats := ts.sock.Stats()
	total := 0
	for _, n := range pings {
		total += n
	}
	t.Logf("%d offending connections (%d kinds of bad frame) from %d goroutines in %v; %d well-behaved connections got %d ping replies and %d broadcasts each; Stats %+v",
		nBad, len(kinds), workers, stormTook.Round(time.Millisecond), nGood, total/nGood, nBad, stats)
	if stats.Malformed != nBad {
		t.Errorf("Stats().Malformed = %d, want %d", stats.Malformed, nBad)
	}
	if stats.Crashes != 0 {
		t.Errorf("Stats().Crashes = %d, want 0", stats.Crashes)
	}
	if s := httpErrs.String(); s != "" {
		t.Errorf("the HTTP server logged errors:\n%s", s)
	}
	for i, g := range good {
		if err := g.c.send(rbPing(g.v1, goodRoom, "last")); err != nil {
			t.Fatalf("well-behaved connection %d at the end: %v", i, err)
		}
		if err := g.c.expect(rbPong(g.v1, goodRoom, "last")); err != nil {
			t.Fatalf("well-behaved connection %d at the end: %v", i, err)
		}
	}
}
