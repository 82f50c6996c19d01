package main

// phoenix.js over its LongPoll transport, in Node, against the example app:
// e2e/longpoll.mjs drives the flows and prints what it sees; these tests
// reuse the harness of e2e_node_test.go (startServer, startNode, expect).

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phxgo/phx/examples/internal/testenv"
)

// lpTransport is the {"ev":"transport"} event every LongPoll flow ends with:
// only the LongPoll transport was used, only /socket/longpoll was requested
// (GETs and ndjson POSTs), the session token travelled in the query as
// phoenix.js 1.8 sends it, and no POST had more than 100 lines.
func lpTransport(maxLines any) obj {
	return obj{"ev": "transport", "transports": arr{"LongPoll"}, "connections": arr{"LongPoll"},
		"paths": arr{"/socket/longpoll"}, "methods": arr{"GET", "POST"}, "token_in_query": true, "max_lines": maxLines}
}

func TestLongPollNodeFlows(t *testing.T) {
	testenv.NeedNode(t, nodeDir)
	t.Parallel()
	t.Logf("phoenix.js %s, node %s", lpPhoenixVersion(t), lpNodeVersion(t))
	reply := func(event, status string, resp any) obj {
		return obj{"ev": "reply", "topic": "ping", "event": event, "status": status, "resp": resp}
	}
	pong := obj{"ping": "pong"}

	t.Run("ping", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, "127.0.0.1:0")
		p := startNode(t, "longpoll.mjs", srv.wsURL(), "ping")
		p.expect(obj{"ev": "push", "event": "ping", "state": "joining"})
		p.expect(obj{"ev": "join", "topic": "ping", "status": "ok", "resp": obj{}, "join_ref": anyValue})
		p.expect(reply("ping", "ok", pong))
		p.expect(reply("ping", "ok", obj{"ping": "hoorays..!"}))
		p.expect(reply("ping:flows shows", "ok", obj{"ping": "flows shows"}))
		p.expect(reply("pong", "timeout", obj{}))
		p.expect(reply("param_ping", "error", obj{"reason": "You asked for this!"}))
		p.expect(reply("param_ping", "ok", obj{"error": false, "arr": arr{1, 2}}))
		p.expect(obj{"ev": "burst", "ok": 250})
		p.expect(obj{"ev": "ready"})
		if err := srv.app.Socket.Broadcast(t.Context(), "ping", "request_ping", map[string]any{}); err != nil {
			t.Fatalf("Broadcast request_ping: %v", err)
		}
		p.expect(obj{"ev": "message", "event": "send_ping", "payload": obj{"from_node": "nonode@nohost"}})
		p.expect(reply("ping", "ok", pong))
		p.expect(lpTransport(100))
		p.finish()
	})

	// The app's own token param and the session token share the query
	// (PROTOCOL.md LP-3): the session must survive its polls, so the socket
	// opens once.
	t.Run("params", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, "127.0.0.1:0")
		p := startNode(t, "longpoll.mjs", srv.wsURL(), "params")
		p.expect(obj{"ev": "join", "topic": "ping", "status": "ok", "resp": obj{}, "join_ref": anyValue})
		p.expect(reply("ping", "ok", pong))
		p.expect(obj{"ev": "socket", "opens": 1, "connected": true})
		p.expect(lpTransport(anyValue))
		p.finish()
	})

	t.Run("room", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, "127.0.0.1:0")
		p := startNode(t, "longpoll.mjs", srv.wsURL(), "room")
		lobby := func(event string, resp any) obj {
			return obj{"ev": "reply", "topic": "room:lobby", "event": event, "status": "ok", "resp": resp}
		}
		p.expect(obj{"ev": "join", "topic": "room:lobby", "status": "ok", "resp": obj{}, "join_ref": anyValue})
		p.expect(obj{"ev": "join", "topic": "room:lobby", "status": "ok", "resp": obj{}, "join_ref": anyValue})
		p.expect(lobby("ping", obj{"hello": "world"}))
		p.expect(obj{"ev": "push", "event": "shout"})
		p.expect(lobby("ping", obj{}))
		p.expect(lobby("ping", obj{}))
		p.expect(obj{"ev": "shouts", "received": arr{
			obj{"who": "alice", "payload": obj{"body": "hi all", "from": "alice"}},
			obj{"who": "bob", "payload": obj{"body": "hi all", "from": "alice"}},
		}})
		p.expect(lpTransport(anyValue))
		p.finish()
	})
}

// TestLongPollNodeReconnect restarts the server under a client joined over
// LongPoll: Shutdown ends the session, so the poll the client holds answers
// {"status":410} and the client closes with 3410 (or, if the poll was between
// two requests, its next one gets 500 or a refused connection: 1011); it then
// reconnects to the new server on the same address and rejoins with a new
// join_ref. Not parallel: it reuses a port after closing it.
func TestLongPollNodeReconnect(t *testing.T) {
	testenv.NeedNode(t, nodeDir)
	first := startServer(t, "127.0.0.1:0")
	p := startNode(t, "longpoll.mjs", first.wsURL(), "reconnect")
	p.expect(obj{"ev": "socket_open", "n": 1})
	p.expect(obj{"ev": "join", "topic": "ping", "status": "ok", "resp": obj{}, "join_ref": same("J1")})
	p.expect(obj{"ev": "reply", "topic": "ping", "event": "ping", "status": "ok", "resp": obj{"ping": "pong"}})
	p.expect(obj{"ev": "ready", "join_ref": same("J1")})

	first.stop(t)
	closed := p.expect(obj{"ev": "socket_close", "code": anyValue})
	if code := closed["code"]; code != 3410.0 && code != 1011.0 {
		t.Errorf("socket_close code %v, want 3410 (session gone) or 1011 (server unreachable)", code)
	}

	startServer(t, first.addr)
	p.expect(obj{"ev": "socket_open", "n": 2})
	p.expect(obj{"ev": "join", "topic": "ping", "status": "ok", "resp": obj{}, "join_ref": differs("J1")})
	p.expect(obj{"ev": "reply", "topic": "ping", "event": "ping", "status": "ok", "resp": obj{"ping": "pong"}})
	p.expect(obj{"ev": "socket", "opens": 2, "first_join_ref": same("J1"), "join_ref": differs("J1"), "connected": true})
	p.expect(lpTransport(anyValue))
	p.finish()
}

// lpPhoenixVersion is the version of the phoenix npm package the tests run.
func lpPhoenixVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(nodeDir, "node_modules", "phoenix", "package.json"))
	if err != nil {
		t.Fatalf("reading the phoenix package version: %v", err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatalf("reading the phoenix package version: %v", err)
	}
	return pkg.Version
}

// lpNodeVersion is the output of node --version.
func lpNodeVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	return strings.TrimSpace(string(out))
}
