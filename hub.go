package phx

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/phxgo/phx/internal/wire"
)

// subscriber receives broadcasts for a topic from the hub: a Session, or a
// client listening on its socket id.
type subscriber interface {
	deliver(b *Broadcast, fl *fastlane)
}

// hub is the node's topic → local subscribers table. It subscribes to the
// PubSub once per topic, on the first local subscriber, and leaves on the
// last. It is sharded so that joins on different topics do not contend.
type hub struct {
	ps     PubSub
	seed   maphash.Seed
	shards [32]hubShard
}

type hubShard struct {
	mu     sync.Mutex
	topics map[string]*hubTopic
}

// hubTopic holds the local subscribers of one topic. Deliveries hold the
// read lock while they hand the broadcast to each subscriber, which never
// blocks; joins and leaves take the write lock and cost O(1).
type hubTopic struct {
	mu          sync.RWMutex
	subs        []subscriber
	index       map[subscriber]int // position in subs
	unsubscribe func()
}

func newHub(ps PubSub) *hub {
	h := &hub{ps: ps, seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].topics = make(map[string]*hubTopic)
	}
	return h
}

func (h *hub) shard(topic string) *hubShard {
	return &h.shards[maphash.String(h.seed, topic)%uint64(len(h.shards))]
}

// subscribe adds sub to topic.
func (h *hub) subscribe(topic string, sub subscriber) error {
	sh := h.shard(topic)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.topics[topic]
	if t == nil {
		t = &hubTopic{index: make(map[subscriber]int)}
		unsub, err := h.ps.Subscribe(topic, func(b Broadcast) { t.dispatch(&b) })
		if err != nil {
			return err
		}
		t.unsubscribe = unsub
		sh.topics[topic] = t
	}
	t.mu.Lock()
	if _, ok := t.index[sub]; !ok {
		t.index[sub] = len(t.subs)
		t.subs = append(t.subs, sub)
	}
	t.mu.Unlock()
	return nil
}

// unsubscribe removes sub from topic; it is a no-op if sub is not there.
func (h *hub) unsubscribe(topic string, sub subscriber) {
	sh := h.shard(topic)
	sh.mu.Lock()
	t := sh.topics[topic]
	if t == nil {
		sh.mu.Unlock()
		return
	}
	t.mu.Lock()
	i, ok := t.index[sub]
	if ok {
		last := len(t.subs) - 1
		t.subs[i] = t.subs[last]
		t.index[t.subs[i]] = i
		t.subs[last] = nil
		t.subs = t.subs[:last]
		delete(t.index, sub)
	}
	empty := len(t.subs) == 0
	t.mu.Unlock()
	var unsub func()
	if empty {
		delete(sh.topics, topic)
		unsub = t.unsubscribe
	}
	sh.mu.Unlock()
	if unsub != nil {
		unsub()
	}
}

// dispatch hands b to every local subscriber, encoding it at most once per
// serializer (Phoenix's fastlane).
func (t *hubTopic) dispatch(b *Broadcast) {
	var fl fastlane
	fl.b = b
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, sub := range t.subs {
		sub.deliver(b, &fl)
	}
}

// fastlane caches the frames of one broadcast, one per serializer, so that
// the same bytes go to every subscriber that does not intercept the event.
type fastlane struct {
	b      *Broadcast
	frames [2]struct {
		done bool
		f    frame
		err  error
	}
}

// encodes counts fastlane encodings; tests read it to prove one encoding per
// serializer per broadcast.
var encodes atomic.Int64

func (fl *fastlane) frame(ser wire.Serializer) (frame, error) {
	i := 0
	if ser == wire.V1 {
		i = 1
	}
	c := &fl.frames[i]
	if !c.done {
		c.done = true
		encodes.Add(1)
		m := wire.Message{Topic: fl.b.Topic, Event: fl.b.Event, Payload: fl.b.Payload.Data, Binary: fl.b.Payload.Binary}
		c.f.data, c.f.binary, c.err = ser.Encode(nil, &m)
	}
	return c.f, c.err
}
