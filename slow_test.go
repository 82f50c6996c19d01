package phx_test

// Slow consumers (issue 6): clients that never read must cost bounded memory,
// be closed with 1008, and never hold up a broadcast or delay anyone else.

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phxgo/phx"
)

// rbTick is the payload of the slow-consumer broadcasts: about 100 bytes.
type rbTick struct {
	Seq int    `json:"seq"`
	Pad string `json:"pad"`
}

var rbPad = strings.Repeat("p", 80)

// rbTickFrame is the frame a V2 client gets for broadcast seq.
func rbTickFrame(topic string, seq int) string {
	return `[null,null,"` + topic + `","tick",{"seq":` + strconv.Itoa(seq) + `,"pad":"` + rbPad + `"}]`
}

// 100 clients join a topic and never read while 10,000 broadcasts go out
// as fast as the well-behaved clients take them: every well-behaved client
// gets all 10,000 in order, each slow client is closed with 1008 once its
// outbound queue (OutboundQueue frames, default 1024) overflows, no
// Broadcast call waits on a slow client, and the heap stays bounded.
//
// The publisher keeps at most window+step broadcasts ahead of the
// slowest well-behaved client (fewer than OutboundQueue), which is what
// "well-behaved" means here: a client that falls a whole queue behind the
// publisher is a slow consumer by definition. Broadcast calls themselves are
// timed without that wait.
func TestSlowConsumers(t *testing.T) {
	const (
		nSlow  = 100
		nGood  = 20
		nMsgs  = 10_000
		step   = 128
		window = 384
		topic  = "room:fan"
		queue  = 1024 // the default OutboundQueue
	)
	watch := &rbWatch{}
	slowClosed := watch.on("phx: closing a slow client", nSlow)
	ts := rbServer(t, nil, func(s *phx.Socket) { s.Channel("room:*", &roomChannel{}) },
		rbServerOpts{serverWriteBuf: 4096, watch: watch})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	slow := make([]*rbRaw, nSlow)
	for i := range slow {
		c, err := rbRawDial(ctx, ts, "vsn=2.0.0", 4096)
		if err != nil {
			t.Fatalf("slow client %d: %v", i, err)
		}
		t.Cleanup(c.close)
		if err := c.join(topic, `"1"`); err != nil {
			t.Fatalf("slow client %d: %v", i, err)
		}
		slow[i] = c // and it never reads again until it is drained
	}
	good := make([]*rbRaw, nGood)
	for i := range good {
		c, err := rbRawDialSized(ctx, ts, "vsn=2.0.0", 0, 64<<10)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		t.Cleanup(c.close)
		if err := c.join(topic, `"1"`); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		c.deadline(time.Now().Add(time.Minute))
		good[i] = c
	}

	// A failure cancels ctx, which unblocks the readers.
	stopReaders := context.AfterFunc(ctx, func() {
		for _, c := range good {
			c.close()
		}
	})
	defer stopReaders()

	// Checkpoint k is reached when every good client has read k*step
	// broadcasts.
	nCP := nMsgs/step + 1
	cpCount := make([]atomic.Int32, nCP)
	cpDone := make([]chan struct{}, nCP)
	for i := range cpDone {
		cpDone[i] = make(chan struct{})
	}
	close(cpDone[0])
	failed := make(chan struct{})
	var failOnce sync.Once
	var errs rbErrs
	fail := func(err error) {
		errs.add(err)
		failOnce.Do(func() { close(failed) })
	}
	var readers sync.WaitGroup
	for i, c := range good {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for seq := range nMsgs {
				got, err := c.read()
				if err != nil {
					fail(fmt.Errorf("good client %d, broadcast %d: %w", i, seq, err))
					return
				}
				if want := rbTickFrame(topic, seq); got != want {
					fail(fmt.Errorf("good client %d: got %s, want %s", i, got, want))
					return
				}
				if (seq+1)%step == 0 {
					cp := (seq + 1) / step
					if cpCount[cp].Add(1) == nGood {
						close(cpDone[cp])
					}
				}
			}
		}()
	}

	// Drain the slow clients as soon as all of them overflowed: what was
	// written to them arrives, then the close with 1008.
	slowCodes := make(chan int, nSlow)
	slowFrames := make(chan int, nSlow)
	var drainers sync.WaitGroup
	drainers.Add(1)
	go func() {
		defer drainers.Done()
		select {
		case <-slowClosed:
		case <-ctx.Done():
			return
		}
		for _, c := range slow {
			drainers.Add(1)
			go func() {
				defer drainers.Done()
				c.deadline(time.Now().Add(timeout))
				n := 0
				for {
					_, _, err := c.next()
					if err != nil {
						slowCodes <- rbCloseCode(err)
						slowFrames <- n
						return
					}
					n++
				}
			}()
		}
	}()

	// Sample the heap while the broadcasts go out.
	base := rbHeap()
	var peak atomic.Uint64
	stopSampling := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-tick.C:
			case <-stopSampling:
				return
			}
		}
	}()

	var maxCall, total time.Duration
	overflowAt := -1
	start := time.Now()
	for seq := range nMsgs {
		if seq%step == 0 && seq >= window {
			select {
			case <-cpDone[(seq-window)/step]:
			case <-failed:
				cancel()
				readers.Wait()
				errs.check(t, "well-behaved clients")
			case <-ctx.Done():
				t.Fatalf("well-behaved clients stopped receiving before broadcast %d", seq)
			}
		}
		if overflowAt < 0 && watch.count("phx: closing a slow client") == nSlow {
			overflowAt = seq
		}
		t0 := time.Now()
		err := ts.sock.Broadcast(ctx, topic, "tick", rbTick{Seq: seq, Pad: rbPad})
		d := time.Since(t0)
		if err != nil {
			t.Fatalf("Broadcast %d: %v", seq, err)
		}
		total += d
		maxCall = max(maxCall, d)
	}
	readers.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	sampler.Wait()
	errs.check(t, "well-behaved clients")

	allClosed := false
	select {
	case <-slowClosed:
		allClosed = true
	case <-time.After(timeout):
		cancel() // the drainers never started
	}
	drainers.Wait()
	close(slowCodes)
	close(slowFrames)
	codes := map[int]int{}
	for c := range slowCodes {
		codes[c]++
	}
	maxSeen := 0
	for n := range slowFrames {
		maxSeen = max(maxSeen, n)
	}
	growth := int64(peak.Load()) - int64(base)
	frameLen := len(rbTickFrame(topic, nMsgs))
	// What the slow clients may pin: each a full queue of frames, counted
	// as if none were shared (the fastlane shares them) plus the 32-byte
	// queue entry; twice that for the garbage collector's headroom (GOGC
	// 100), plus 16 MiB for 120 connections' buffers and the well-behaved
	// readers' garbage.
	bound := int64(2*nSlow*queue*(frameLen+32) + 16<<20)
	stats := ts.sock.Stats()

	t.Logf("%d broadcasts of %d-byte frames to %d clients (%d never read) in %v; Broadcast call: max %v, mean %v",
		nMsgs, frameLen, nSlow+nGood, nSlow, elapsed.Round(time.Millisecond), maxCall, total/nMsgs)
	t.Logf("all slow clients closed by broadcast %d; a slow client read at most %d frames when drained; close codes %v",
		overflowAt, maxSeen, codes)
	t.Logf("heap in use: base %s, peak %s, growth %s (bound %s); Stats %+v",
		rbMB(int64(base)), rbMB(int64(peak.Load())), rbMB(growth), rbMB(bound), stats)

	if !allClosed {
		t.Errorf("%d of %d slow clients were closed as slow consumers", watch.count("phx: closing a slow client"), nSlow)
	}
	if codes[1008] != nSlow {
		t.Errorf("slow clients' close codes: %v, want all %d to be 1008", codes, nSlow)
	}
	if stats.SlowConsumers != nSlow {
		t.Errorf("Stats().SlowConsumers = %d, want %d", stats.SlowConsumers, nSlow)
	}
	if maxCall > time.Second {
		t.Errorf("a Broadcast call took %v: it waited on a client", maxCall)
	}
	if growth > bound {
		t.Errorf("heap grew by %s, more than the bound %s", rbMB(growth), rbMB(bound))
	}
	// The well-behaved clients are still connected and served.
	for i, c := range good {
		if err := c.heartbeat("hb"); err != nil {
			t.Fatalf("good client %d: %v", i, err)
		}
	}
}

// WriteTimeout: a client that stops reading while less than a queue's worth
// is waiting for it (here 300 broadcasts of 1 KiB, under both OutboundQueue
// and OutboundBytes) is closed once a write has been blocked for
// WriteTimeout, instead of holding its queue and goroutine forever.
func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	const wt = 300 * time.Millisecond
	ts := rbServer(t, &phx.SocketOptions{WriteTimeout: wt}, func(s *phx.Socket) { s.Channel("room:*", &roomChannel{}) },
		rbServerOpts{serverWriteBuf: 4096})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := rbRawDial(ctx, ts, "vsn=2.0.0", 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := c.join("room:1", `"1"`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pad := strings.Repeat("x", 1000)
	for i := range 300 {
		if err := ts.sock.Broadcast(ctx, "room:1", "big", map[string]any{"i": i, "pad": pad}); err != nil {
			t.Fatal(err)
		}
	}
	rbEventually(t, "closing the client that stopped reading", func() bool { return ts.sock.Stats().Connections == 0 })
	took := time.Since(start)
	// Only a writer blocked for WriteTimeout closes a connection that
	// neither misbehaved nor overflowed its queue.
	t.Logf("closed %v after the broadcasts (WriteTimeout %v); Stats %+v", took.Round(time.Millisecond), wt, ts.sock.Stats())
}
