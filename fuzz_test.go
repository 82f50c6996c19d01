package phx_test

import (
	"context"
	"strings"
	"testing"

	"github.com/phxgo/phx"
)

type fuzzChannel struct{}

func (fuzzChannel) Join(context.Context, *phx.Session, string, phx.Payload) (any, error) {
	return nil, nil
}

func (fuzzChannel) HandleIn(context.Context, *phx.Session, string, phx.Payload) (phx.Reply, error) {
	return phx.NoReply, nil
}

// FuzzChannelPattern checks that registering any pattern either works or
// panics with a phx message that says what is wrong, never anything else.
func FuzzChannelPattern(f *testing.F) {
	for _, p := range []string{"ping", "ping:*", "*", "ping:*a", "*a", "", "a**", "room:lobby", "ü:*"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		sock := phx.NewSocket(nil)
		defer func() {
			if v := recover(); v != nil {
				msg, ok := v.(string)
				if !ok || !strings.HasPrefix(msg, "phx: Socket.Channel(") {
					t.Fatalf("Channel(%q) panicked with %v; want a phx: message", pattern, v)
				}
				if i := strings.IndexByte(pattern, '*'); pattern != "" && i == len(pattern)-1 {
					t.Fatalf("Channel(%q) refused a valid pattern: %s", pattern, msg)
				}
			}
		}()
		sock.Channel(pattern, fuzzChannel{})
		if i := strings.IndexByte(pattern, '*'); pattern == "" || (i >= 0 && i != len(pattern)-1) {
			t.Fatalf("Channel(%q) accepted an invalid pattern", pattern)
		}
	})
}
