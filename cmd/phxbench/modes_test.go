package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testSettings returns the defaults of mode aimed at url, shrunk for a
// test, with extra flags applied.
func testSettings(t *testing.T, mode, url string, extra ...string) *settings {
	t.Helper()
	args := append([]string{"-url", url, "-duration", "300ms", "-warmup", "100ms", "-timeout", "2s"}, extra...)
	s, err := parseFlags(mode, modes[mode].conns, args, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags %v: %v", args, err)
	}
	return s
}

func mustOK(t *testing.T, r *result) {
	t.Helper()
	if !r.OK || r.Errors != 0 {
		t.Fatalf("%s failed: %d errors, first: %s", r.Mode, r.Errors, r.FirstError)
	}
}

func TestConnsPhx(t *testing.T) {
	url := phxServer(t)
	// Heartbeats every 500 ms over a 2 s hold: several beats, each with
	// 500 ms for its reply, which -race on a busy CI machine needs.
	s := testSettings(t, "conns", url, "-conns", "200", "-heartbeat", "500ms", "-duration", "2s")
	r := runConns(context.Background(), s)
	mustOK(t, r)
	if r.Joins != 200 || r.Alive != 200 {
		t.Errorf("joins %d, alive %d; want 200 and 200", r.Joins, r.Alive)
	}
	if r.JoinsPerSec <= 0 || r.P99us <= 0 {
		t.Errorf("implausible figures: %+v", r)
	}
}

// selfPID makes the test process, which runs the servers, the -pid of a
// run: its RSS and descriptors include the tool's, which conns and storm
// release before they look.
func selfPID() string { return strconv.Itoa(os.Getpid()) }

// TestPhxReleasesConnections runs conns and storm with -pid against phx:
// the server must read RSS figures and release every connection the tool
// closed (with a reset, as a client that vanishes).
func TestPhxReleasesConnections(t *testing.T) {
	url := phxServer(t)
	r := runConns(context.Background(), testSettings(t, "conns", url, "-conns", "200", "-pid", selfPID()))
	mustOK(t, r)
	if r.RSSBefore <= 0 || r.RSSAfter <= 0 || r.BytesPerConn == 0 {
		t.Errorf("RSS figures missing: %+v", r)
	}
	mustOK(t, runStorm(context.Background(), testSettings(t, "storm", url, "-conns", "8", "-joins", "300", "-pid", selfPID())))
}

func TestFanoutPhx(t *testing.T) {
	url := phxServer(t)
	for _, extra := range [][]string{
		{"-conns", "20", "-inflight", "8"},
		{"-conns", "10", "-rate", "500", "-size", "300"},
	} {
		s := testSettings(t, "fanout", url, extra...)
		r := runFanout(context.Background(), s)
		mustOK(t, r)
		if r.Publishes == 0 || r.Deliveries != r.Publishes*int64(s.conns) {
			t.Errorf("%v: %d deliveries of %d publishes to %d subscribers", extra, r.Deliveries, r.Publishes, s.conns)
		}
		if r.Loss != 0 || r.Duplicates != 0 || r.Reorders != 0 || r.DeliveriesPerSec <= 0 || r.P50us <= 0 || r.P99us < r.P50us {
			t.Errorf("%v: implausible figures: %+v", extra, r)
		}
		if s.rate > 0 && (r.PublishesPerSec < 400 || r.PublishesPerSec > 600) {
			t.Errorf("%v: %.0f publishes/s, want about 500", extra, r.PublishesPerSec)
		}
	}
}

func TestReqRepPhx(t *testing.T) {
	url := phxServer(t)
	s := testSettings(t, "reqrep", url, "-conns", "10", "-window", "5")
	r := runReqRep(context.Background(), s)
	mustOK(t, r)
	if r.Requests == 0 || r.Replies != r.Requests || r.RepliesPerSec <= 0 {
		t.Errorf("%d requests, %d replies, %.0f/s", r.Requests, r.Replies, r.RepliesPerSec)
	}
	if r.MinPerConn <= 0 || r.MaxPerConn < r.MinPerConn || r.Fairness <= 0 || r.Fairness > 1 {
		t.Errorf("per connection %d..%d, fairness %v", r.MinPerConn, r.MaxPerConn, r.Fairness)
	}

	s = testSettings(t, "reqrep", url, "-conns", "10", "-rate", "2000")
	r = runReqRep(context.Background(), s)
	mustOK(t, r)
	if r.RepliesPerSec < 1500 || r.RepliesPerSec > 2500 {
		t.Errorf("-rate 2000: %.0f replies/s", r.RepliesPerSec)
	}
	if r.Replies != r.Requests || r.SendLagP99us <= 0 {
		t.Errorf("-rate 2000: %d requests, %d replies, pacer lag %v", r.Requests, r.Replies, r.SendLagP99us)
	}
}

func TestStormPhx(t *testing.T) {
	url := phxServer(t)
	s := testSettings(t, "storm", url, "-conns", "8", "-joins", "300")
	r := runStorm(context.Background(), s)
	mustOK(t, r)
	if r.Joins != 300 || r.JoinsPerSec <= 0 || r.JoinP99us <= 0 || r.P99us < r.JoinP50us {
		t.Errorf("implausible figures: %+v", r)
	}
}

// TestFakeServerPasses makes sure the fake server of the broken-server
// tests is correct when told to be, so that their failures come from the
// fault alone.
func TestFakeServerPasses(t *testing.T) {
	url := newFake(t, faultNone)
	mustOK(t, runFanout(context.Background(), testSettings(t, "fanout", url, "-conns", "5")))
	mustOK(t, runFanout(context.Background(), testSettings(t, "fanout", newFake(t, faultNoEcho), "-conns", "5", "-echo=false")))
	mustOK(t, runReqRep(context.Background(), testSettings(t, "reqrep", url, "-conns", "3")))
	mustOK(t, runConns(context.Background(), testSettings(t, "conns", url, "-conns", "5", "-heartbeat", "50ms", "-pid", selfPID())))
	mustOK(t, runStorm(context.Background(), testSettings(t, "storm", url, "-conns", "2", "-joins", "200", "-pid", selfPID())))
}

func TestDetectsBrokenServer(t *testing.T) {
	cases := []struct {
		name  string
		fault fault
		mode  string
		flags []string
		want  string // in the first error
		check func(*result) bool
	}{
		{"dropped broadcast", faultDropShout, "fanout", []string{"-conns", "4"}, "1 shouts lost (on 1 of 4",
			func(r *result) bool { return r.Loss == 1 && r.ReceiversWithLoss == 1 }},
		{"reordered broadcast", faultReorderShout, "fanout", []string{"-conns", "4"}, "1 reordered",
			func(r *result) bool { return r.Reorders == 1 && r.Loss == 0 }},
		{"duplicated broadcast", faultDupShout, "fanout", []string{"-conns", "4"}, "1 duplicated",
			func(r *result) bool { return r.Duplicates == 1 }},
		{"altered broadcast payload", faultShoutPad, "fanout", []string{"-conns", "3"}, "differs from the one published", nil},
		{"broadcast on another topic", faultShoutWrongTopic, "fanout", []string{"-conns", "3"}, "expected a broadcast", nil},
		{"broadcasts stop", faultStopShouts, "fanout", []string{"-conns", "3", "-inflight", "4", "-timeout", "300ms"}, "seq 11 has reached only 0 of 4 receivers", nil},
		{"publisher not echoed", faultNoEcho, "fanout", []string{"-conns", "3"}, "pass -echo=false", nil},
		{"wrong echo", faultWrongEcho, "reqrep", []string{"-conns", "2"}, "does not echo", nil},
		{"wrong ref", faultWrongRef, "reqrep", []string{"-conns", "2"}, "matches no ping", nil},
		{"null join_ref", faultNullJoinRef, "reqrep", []string{"-conns", "2"}, "join_ref null", nil},
		{"not JSON", faultNotJSON, "reqrep", []string{"-conns", "2"}, "must be a JSON array", nil},
		{"join refused", faultJoinError, "storm", []string{"-conns", "1", "-joins", "10"}, `status "error"`, nil},
		{"join refused while dialing", faultJoinError, "conns", []string{"-conns", "5"}, `status "error"`, nil},
		{"bad heartbeat reply", faultBadHeartbeat, "conns", []string{"-conns", "3", "-heartbeat", "50ms"}, `ref "999999"`, nil},
		{"connections kept after reset", faultLeak, "storm", []string{"-conns", "2", "-joins", "200", "-pid", selfPID()}, "does not release connections", nil},
		{"connections kept after conns", faultLeak, "conns", []string{"-conns", "50", "-pid", selfPID()}, "does not release connections", nil},
		{"connection closed", faultCloseIdle, "conns", []string{"-conns", "3"}, "closed by the server with code 1001", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := newFake(t, tc.fault)
			r := modes[tc.mode].run(context.Background(), testSettings(t, tc.mode, url, tc.flags...))
			if r.OK || r.Errors == 0 {
				t.Fatalf("%s passed against a server with fault %q: %+v", tc.mode, tc.name, r)
			}
			if !strings.Contains(r.FirstError, tc.want) {
				t.Errorf("first error %q does not mention %q", r.FirstError, tc.want)
			}
			if tc.check != nil && !tc.check(r) {
				t.Errorf("figures do not show the fault: %+v", r)
			}
		})
	}
}

// TestExitCodes runs the command line: 0 for a correct server, 1 for a
// broken one (with the error on stdout), 2 for bad usage.
func TestExitCodes(t *testing.T) {
	good, bad := phxServer(t), newFake(t, faultWrongEcho)
	var out bytes.Buffer
	args := []string{"reqrep", "-conns", "2", "-duration", "200ms", "-warmup", "0s", "-json", "-url"}
	if code := run(append(args, good), &out, io.Discard); code != 0 {
		t.Fatalf("exit %d against phx: %s", code, out.String())
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || !r.OK || r.Replies == 0 {
		t.Fatalf("-json line %q: %v", out.String(), err)
	}
	out.Reset()
	if code := run(append(args, bad), &out, io.Discard); code != 1 || !strings.Contains(out.String(), "does not echo") {
		t.Fatalf("exit %d against a broken server: %s", code, out.String())
	}
	for _, a := range [][]string{nil, {"nope"}, {"fanout", "-conns", "0"}, {"storm", "extra"}} {
		if code := run(a, io.Discard, io.Discard); code != 2 {
			t.Errorf("run(%q) = %d, want 2", a, code)
		}
	}
}

// TestCancel checks that a run cancelled from outside (Ctrl-C) ends
// promptly and still reports.
func TestCancel(t *testing.T) {
	url := phxServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := runReqRep(ctx, testSettings(t, "reqrep", url, "-conns", "3", "-duration", "1h"))
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("cancelled run took %v", el)
	}
	if r.Requests == 0 {
		t.Errorf("no requests before the cancel: %+v", r)
	}
}
