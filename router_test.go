package phx_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

// J-1: an exact pattern beats a prefix, a longer prefix beats a shorter
// one, "*" catches the rest, whatever the registration order.
func TestRoutePrecedence(t *testing.T) {
	t.Parallel()
	orders := map[string][]string{
		"catch-all first": {"*", "room:*", "room:lobby:*", "room:lobby"},
		"catch-all last":  {"room:lobby", "room:lobby:*", "room:*", "*"},
	}
	tests := []struct{ topic, ch string }{
		{"room:lobby", "room:lobby"},
		{"room:lobby:1", "room:lobby:*"},
		{"room:lobby:", "room:lobby:*"},
		{"room:lobbyist", "room:*"},
		{"room:1", "room:*"},
		{"room:", "room:*"},
		{"room", "*"},
		{"other", "*"},
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newServer(t, nil, func(s *phx.Socket) {
				for _, p := range order {
					s.Channel(p, namedChannel(p))
				}
			})
			c := ts.dial(t, "vsn=2.0.0")
			for i, tt := range tests {
				ref := strconv.Quote(strconv.Itoa(i + 1))
				c.send(fmt.Sprintf(`[%s,%s,%q,"phx_join",{}]`, ref, ref, tt.topic))
				c.expect(fmt.Sprintf(`[%s,%s,%q,"phx_reply",{"response":{"ch":%q},"status":"ok"}]`, ref, ref, tt.topic, tt.ch))
			}
		})
	}
	t.Run("no catch-all", func(t *testing.T) {
		t.Parallel()
		ts := newServer(t, nil, func(s *phx.Socket) {
			s.Channel("room:*", namedChannel("room:*"))
			s.Channel("ping", namedChannel("ping"))
		})
		c := ts.dial(t, "vsn=2.0.0")
		for _, topic := range []string{"room", "ping:1", "pin", "other"} {
			c.send(`["1","1","` + topic + `","phx_join",{}]`)
			c.expect(`[null,"1","` + topic + `","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
		}
	})
}

// Registration mistakes panic with a message that says what is wrong.
func TestChannelPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pattern string
		ch      phx.Channel
		first   string // a pattern registered before, if any
		want    string // in the panic message
	}{
		{"star inside", "ping:*a", namedChannel(""), "", "must end with *"},
		{"star first", "*a", namedChannel(""), "", "must end with *"},
		{"two stars", "a**", namedChannel(""), "", "must end with *"},
		{"empty", "", namedChannel(""), "", "empty topic pattern"},
		{"duplicate exact", "ping", namedChannel(""), "ping", "registered twice"},
		{"duplicate prefix", "room:*", namedChannel(""), "room:*", "registered twice"},
		{"nil channel", "ping", nil, "", "nil Channel"},
		{"no intercepts", "ping", interceptsChannel{}, "", "lists no event"},
		{"repeated intercept", "ping", interceptsChannel{"a", "b", "a"}, "", `"a" twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sock := phx.NewSocket(nil)
			if tt.first != "" {
				sock.Channel(tt.first, namedChannel(""))
			}
			msg := func() (msg string) {
				defer func() {
					v := recover()
					if v == nil {
						t.Fatalf("Channel(%q) did not panic", tt.pattern)
					}
					msg = fmt.Sprint(v)
				}()
				sock.Channel(tt.pattern, tt.ch)
				return ""
			}()
			assert.Contains(t, "panic message", msg, tt.want)
			assert.True(t, "panic message names the pattern: "+msg,
				strings.HasPrefix(msg, "phx: Socket.Channel("+strconv.Quote(tt.pattern)+")"))
		})
	}
}
