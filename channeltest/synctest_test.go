package channeltest_test

// channeltest under testing/synctest: the fake clock runs timeouts,
// heartbeats and timers instantly and exactly.

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/channeltest"
)

func TestSynctestIdleTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sock, _ := newSocket(&phx.SocketOptions{IdleTimeout: time.Minute})
		c := channeltest.NewClient(t, sock, "", nil)
		start := time.Now()

		// Nothing for 59s: still open.
		c.Timeout = 59 * time.Second
		if _, _, err := c.NextFrame(); !errors.Is(err, channeltest.ErrTimeout) {
			t.Fatalf("NextFrame during the first 59s: %v, want a timeout", err)
		}
		// Then closed with 1001 at 60s, never 1000 (phoenix.js reconnects).
		c.Timeout = time.Hour
		c.AssertClosedWith(1001)
		if d := time.Since(start); d != time.Minute {
			t.Errorf("closed after %v, want 1m0s", d)
		}
	})
}

func TestSynctestHeartbeatKeepsAlive(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sock, _ := newSocket(&phx.SocketOptions{IdleTimeout: time.Minute})
		c := channeltest.NewClient(t, sock, "", nil)
		start := time.Now()

		// phoenix.js sends a heartbeat every 30s.
		c.Timeout = 30 * time.Second
		for i := range 3 {
			if _, _, err := c.NextFrame(); !errors.Is(err, channeltest.ErrTimeout) {
				t.Fatalf("heartbeat %d: %v", i, err)
			}
			c.SendFrame(`[null,"hb","phoenix","heartbeat",{}]`)
			c.AssertFrame(`[null,"hb","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
		}
		// The last heartbeat was at 90s; the connection dies at 150s.
		c.Timeout = time.Hour
		c.AssertClosedWith(1001)
		if d := time.Since(start); d != 150*time.Second {
			t.Errorf("closed after %v, want 2m30s", d)
		}
	})
}

func TestSynctestTimersAndRefutes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// No idle timeout: the refutes below outlast the default 60s, and a
		// closed connection would end RefutePush early.
		sock, rc := newSocket(&phx.SocketOptions{IdleTimeout: -1})
		c := channeltest.NewClient(t, sock, "", nil)
		c.Timeout = time.Minute
		c.RefuteTimeout = time.Hour // costs nothing under the fake clock
		ch := c.MustJoin("room:1", map[string]bool{"quiet": true})

		start := time.Now()
		ch.AssertReply(ch.Push("later", nil), "ok", nil)
		ch.AssertPush("later", map[string]string{"after": "10s"})
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("pushed after %v, want 10s", d)
		}
		ch.RefutePush("later")
		ch.RefuteBroadcast("later")
		if d := time.Since(start); d != 2*time.Hour+10*time.Second {
			t.Errorf("refutes took %v", d-10*time.Second)
		}

		// Close does not wait for Terminate; synctest.Wait does.
		c.Close()
		synctest.Wait()
		select {
		case err := <-rc.terminated:
			if !errors.Is(err, phx.ErrClosed) {
				t.Errorf("Terminate reason %v, want ErrClosed", err)
			}
		default:
			t.Error("Terminate has not run after Close and synctest.Wait")
		}
	})
}

// TestSynctestManyClients runs many connections in one bubble: every
// connection's goroutines end with the test (synctest.Test would panic on a
// goroutine left blocked).
func TestSynctestManyClients(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sock, _ := newSocket(nil)
		var chans []*channeltest.Channel
		for range 20 {
			c := channeltest.NewClient(t, sock, "", nil)
			chans = append(chans, c.MustJoin("room:all", map[string]bool{"quiet": true}))
		}
		chans[0].AssertReply(chans[0].Push("shout", map[string]int{"n": 1}), "ok", nil)
		for _, ch := range chans {
			ch.AssertPush("shout", map[string]int{"n": 1})
			ch.AssertBroadcast("shout", map[string]int{"n": 1})
		}
	})
}
