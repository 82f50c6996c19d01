package phx

import (
	"fmt"
	"slices"
	"strings"
)

// route is one registered topic pattern.
type route struct {
	pattern    string
	prefix     string // for "ping:*": "ping:"; for "*": ""
	wildcard   bool
	ch         Channel
	intercepts map[string]bool // nil when the channel intercepts nothing
}

// router maps topics to channels. Exact patterns beat prefix patterns, and a
// longer prefix beats a shorter one, whatever the registration order.
// It is written only at registration, before serving, and read-only after.
type router struct {
	exact    map[string]*route
	prefixes []*route // sorted by prefix length, longest first
}

// add registers pattern, panicking on a mistake, as http.ServeMux.Handle does.
func (r *router) add(pattern string, ch Channel) {
	if ch == nil {
		panic(fmt.Sprintf("phx: Socket.Channel(%q): nil Channel", pattern))
	}
	if pattern == "" {
		panic(`phx: Socket.Channel(""): empty topic pattern; use "*" to match every topic`)
	}
	rt := &route{pattern: pattern, ch: ch}
	if i := strings.IndexByte(pattern, '*'); i >= 0 {
		if i != len(pattern)-1 {
			panic(fmt.Sprintf("phx: Socket.Channel(%q): a splat pattern must end with *, as in \"room:*\"", pattern))
		}
		rt.wildcard, rt.prefix = true, pattern[:i]
	}
	if ic, ok := ch.(Interceptor); ok {
		rt.intercepts = interceptSet(pattern, ic.Intercepts())
	}
	for _, old := range r.all() {
		if old.pattern == pattern {
			panic(fmt.Sprintf("phx: Socket.Channel(%q): pattern registered twice", pattern))
		}
	}
	if !rt.wildcard {
		if r.exact == nil {
			r.exact = make(map[string]*route)
		}
		r.exact[pattern] = rt
		return
	}
	r.prefixes = append(r.prefixes, rt)
	slices.SortStableFunc(r.prefixes, func(a, b *route) int { return len(b.prefix) - len(a.prefix) })
}

func interceptSet(pattern string, events []string) map[string]bool {
	if len(events) == 0 {
		panic(fmt.Sprintf("phx: Socket.Channel(%q): the channel implements Interceptor but Intercepts() lists no event", pattern))
	}
	set := make(map[string]bool, len(events))
	for _, ev := range events {
		if set[ev] {
			panic(fmt.Sprintf("phx: Socket.Channel(%q): Intercepts() lists %q twice", pattern, ev))
		}
		set[ev] = true
	}
	return set
}

func (r *router) all() []*route {
	out := slices.Clone(r.prefixes)
	for _, rt := range r.exact {
		out = append(out, rt)
	}
	return out
}

// match returns the route for topic, or nil.
func (r *router) match(topic string) *route {
	if rt, ok := r.exact[topic]; ok {
		return rt
	}
	for _, rt := range r.prefixes {
		if strings.HasPrefix(topic, rt.prefix) {
			return rt
		}
	}
	return nil
}
