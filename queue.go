package phx

import (
	"errors"
	"os"
	"time"
)

// Inbound: the transport's reader hands frames over; a goroutine that
// exists while there is work handles them in order.

// maxInbox bounds the frames read ahead of the handler; the reader waits
// past it, so a client cannot queue unbounded work.
const maxInbox = 64

// inbound queues a frame read from the transport and makes sure a goroutine
// handles it. The reader only reads: handling runs on a goroutine that
// exists while there is work, so an idle connection's reader keeps the
// small stack of a goroutine blocked in a read.
func (c *client) inbound(data []byte, binary bool) {
	c.inMu.Lock()
	for len(c.inbox) >= maxInbox {
		c.inboxSpace.Wait()
	}
	c.inbox = append(c.inbox, frame{data: data, binary: binary})
	if !c.handling {
		c.handling = true
		c.sock.pool.run((*inboxTask)(c))
	}
	c.inMu.Unlock()
}

// handleInbox handles queued inbound frames in order, then exits.
func (c *client) handleInbox() {
	var batch []frame
	for {
		c.inMu.Lock()
		if len(c.inbox) == 0 {
			c.handling = false
			c.inbox = keepSmall(c.inbox, batch)
			c.inMu.Unlock()
			return
		}
		batch, c.inbox = c.inbox, batch[:0]
		c.inboxSpace.Broadcast()
		c.inMu.Unlock()
		for i, f := range batch {
			batch[i] = frame{}
			if c.isShut() {
				continue // closing: Phoenix's socket process is gone, nothing more is handled
			}
			if err := c.handle(f.data, f.binary); err != nil {
				c.sock.stats.malformed.Add(1)
				c.log.Warn("phx: closing the connection on a frame it cannot decode (code 1011)", "socket_id", c.info.ID, "error", err)
				c.closeAfter(closeInternal, "")
			}
		}
	}
}

// Outbound: one bounded queue per connection, drained by a writer goroutine
// that exists while there is something to write.

// send queues f for the client. It never blocks: when the queue is full the
// client is too slow, and it is closed with 1008 instead of holding up the
// sender (a broadcaster, another channel).
func (c *client) send(f frame) {
	c.outMu.Lock()
	if c.shut {
		c.outMu.Unlock()
		return
	}
	if len(c.out) >= c.sock.opts.OutboundQueue || c.outBytes+len(f.data) > c.sock.opts.OutboundBytes {
		frames, bytes := len(c.out), c.outBytes
		c.shut, c.out, c.outBytes = true, nil, 0
		c.outMu.Unlock()
		c.sock.stats.slow.Add(1)
		c.log.Warn("phx: closing a slow client (code 1008): its outbound queue is full",
			"socket_id", c.info.ID, "frames", frames, "bytes", bytes,
			"max_frames", c.sock.opts.OutboundQueue, "max_bytes", c.sock.opts.OutboundBytes)
		go c.tr.close(closePolicy, "slow consumer")
		return
	}
	c.out = append(c.out, f)
	c.outBytes += len(f.data)
	if !c.writing {
		c.writing = true
		c.sock.pool.run((*writeTask)(c))
	}
	c.outMu.Unlock()
}

// closeAfter stops accepting frames and closes the transport with code once
// the frames already queued are written.
func (c *client) closeAfter(code int, reason string) {
	c.outMu.Lock()
	if c.shut {
		c.outMu.Unlock()
		return
	}
	c.shut, c.closeCode, c.closeWhy = true, code, reason
	if !c.writing {
		c.writing = true
		c.sock.pool.run((*writeTask)(c))
	}
	c.outMu.Unlock()
}

// writeLoop drains the outbound queue, then closes the transport if asked,
// and exits: an idle client holds no writer goroutine.
func (c *client) writeLoop() {
	var batch []frame
	for {
		c.outMu.Lock()
		if len(c.out) == 0 {
			code, why := c.closeCode, c.closeWhy
			c.closeCode = 0
			c.writing = false
			c.out = keepSmall(c.out, batch)
			c.outMu.Unlock()
			if code != 0 {
				c.tr.close(code, why)
			}
			return
		}
		batch, c.out = c.out, batch[:0]
		c.outMu.Unlock()
		// One deadline for the batch: a client that cannot take a queue's
		// worth of frames in WriteTimeout is too slow.
		c.tr.deadline(time.Now().Add(c.sock.opts.WriteTimeout))
		n := 0
		for _, f := range batch {
			n += len(f.data)
		}
		err := c.tr.write(batch)
		clear(batch)
		c.tr.deadline(time.Time{}) // pongs and close frames must not meet a stale deadline
		c.outMu.Lock()
		c.outBytes -= n
		if err != nil {
			c.shut, c.out, c.outBytes, c.closeCode = true, nil, 0, 0
			c.writing = false
		}
		c.outMu.Unlock()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.sock.stats.slow.Add(1)
				c.log.Warn("phx: closing a slow client: a write took longer than SocketOptions.WriteTimeout",
					"socket_id", c.info.ID, "timeout", c.sock.opts.WriteTimeout)
			} else {
				c.log.Debug("phx: write failed; closing the connection", "error", err)
			}
			c.tr.close(closeInternal, "")
			return
		}
	}
}

// keepSmall returns the buffer an empty queue should keep for its next
// burst: spare, if queue has none and spare is small, so that steady
// traffic allocates no queue buffers while an idle connection holds no
// more than a few slots.
func keepSmall(queue, spare []frame) []frame {
	if cap(queue) == 0 && cap(spare) <= 16 {
		return spare[:0]
	}
	return queue
}
