package phx

import (
	"hash/maphash"
	"slices"
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

// hubTopic holds a copy-on-write subscriber slice: deliveries read it with
// one atomic load and never take the shard lock.
type hubTopic struct {
	subs        atomic.Pointer[[]subscriber]
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
		t = &hubTopic{}
		t.subs.Store(&[]subscriber{})
		unsub, err := h.ps.Subscribe(topic, func(b Broadcast) { t.dispatch(&b) })
		if err != nil {
			return err
		}
		t.unsubscribe = unsub
		sh.topics[topic] = t
	}
	next := append(slices.Clone(*t.subs.Load()), sub)
	t.subs.Store(&next)
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
	cur := *t.subs.Load()
	i := slices.Index(cur, sub)
	if i < 0 {
		sh.mu.Unlock()
		return
	}
	next := slices.Delete(slices.Clone(cur), i, i+1)
	t.subs.Store(&next)
	var unsub func()
	if len(next) == 0 {
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
	for _, sub := range *t.subs.Load() {
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
