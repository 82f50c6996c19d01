package phx

import (
	"context"
	"slices"
	"sync"
)

// Broadcast is one message published to every subscriber of a topic
// (Phoenix's %Phoenix.Socket.Broadcast{}).
type Broadcast struct {
	Topic   string
	Event   string
	Payload Payload
	// From is the session that sent it with Session.BroadcastFrom; that
	// session does not receive it. "" for none.
	From string
}

// PubSub carries broadcasts between the nodes that serve a Socket. A Socket
// subscribes once per topic per node and fans out to its own connections,
// so an adapter never sees per-client traffic.
//
// Delivery is at most once: a subscriber that is not subscribed when a
// broadcast is published never sees it, and a node that loses its link to
// the broker loses what was published meanwhile. Broadcasts from one
// publisher to one topic arrive in the order they were published.
//
// Implementations must be safe for concurrent use. fn is called with each
// broadcast for the topic, including those published by this node, and must
// not block; it may be called from several goroutines at once for different
// broadcasts only if the implementation documents that ordering is kept per
// publisher.
type PubSub interface {
	Subscribe(topic string, fn func(Broadcast)) (unsubscribe func(), err error)
	Publish(ctx context.Context, b Broadcast) error
}

// NewLocalPubSub returns the in-process PubSub every Socket uses when
// SocketOptions.PubSub is nil: one node, Publish calls the subscribers
// synchronously in the publisher's goroutine.
func NewLocalPubSub() PubSub { return &localPubSub{topics: make(map[string][]*localSub)} }

type localSub struct{ fn func(Broadcast) }

// localPubSub keeps copy-on-write subscriber slices, so Publish never holds
// the lock while it calls subscribers.
type localPubSub struct {
	mu     sync.RWMutex
	topics map[string][]*localSub
}

func (l *localPubSub) Subscribe(topic string, fn func(Broadcast)) (func(), error) {
	sub := &localSub{fn: fn}
	l.mu.Lock()
	l.topics[topic] = append(slices.Clip(l.topics[topic]), sub)
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			subs := slices.DeleteFunc(slices.Clone(l.topics[topic]), func(s *localSub) bool { return s == sub })
			if len(subs) == 0 {
				delete(l.topics, topic)
			} else {
				l.topics[topic] = subs
			}
		})
	}, nil
}

func (l *localPubSub) Publish(ctx context.Context, b Broadcast) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.RLock()
	subs := l.topics[b.Topic]
	l.mu.RUnlock()
	for _, s := range subs {
		s.fn(b)
	}
	return nil
}
