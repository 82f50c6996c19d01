// Command phxbench is a load generator and protocol verifier for Phoenix
// Channels servers, Go or Elixir, speaking WebSocket with the V2 JSON
// serializer. It drives the RoomChannel that `mix phx.gen.channel Room`
// generates (and examples/hellosockets serves): joining room:lobby, "ping"
// answered with the payload echoed, "shout" broadcast to the room.
//
// Usage:
//
//	phxbench MODE [flags]
//
// Modes:
//
//	conns   hold -conns idle joined connections for -duration; join rate and,
//	        with -pid, the server's RSS growth per connection
//	fanout  -conns subscribers and one publisher shouting {"pad","seq","ts"}
//	        payloads of -size bytes; deliveries/s, loss, duplicates, reorders,
//	        latency (receive time − ts)
//	reqrep  -conns connections each pipelining up to -window pings (or a
//	        total of -rate pings/s); replies/s, latency, fairness
//	storm   connect, join and close as fast as possible with -conns workers
//	        for -duration or -joins joins; joins/s and join latency
//
// Every frame received is verified (join_ref, ref, topic, event, status,
// payload). phxbench exits 1 on any protocol error, loss, duplicate or
// reorder, naming the offending frame, and 2 on bad usage. -json prints the
// result as one JSON line.
//
// Payload keys are sent sorted ({"pad","seq","ts"}, {"n","ts"}) because
// Phoenix's JSON encoder writes small maps with sorted keys: a Phoenix
// server then echoes and broadcasts the bytes the tool sent, which the fast
// path checks byte for byte. Any other equivalent encoding is accepted
// through a slower decoding comparison.
//
// For figures that mean something, pin the server and the tool to
// different cores, each with GOMAXPROCS=1 (see bench/run.sh), and pass the
// server's -pid so that its CPU use is reported: a tool CPU near 1.0 means
// the tool was the bottleneck.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"
)

// settings are the flags of a run.
type settings struct {
	mode      string
	url       string
	wsURL     *url.URL // url, parsed
	topic     string
	conns     int
	duration  time.Duration
	warmup    time.Duration
	timeout   time.Duration
	heartbeat time.Duration
	dialers   int
	pid       int
	size      int
	rate      float64
	inflight  int
	window    int
	joins     int
	echo      bool
	jsonOut   bool
	cpuprof   string
}

// modes maps a mode name to its run function and its default -conns.
var modes = map[string]struct {
	run   func(context.Context, *settings) *result
	conns int
}{
	"conns":  {runConns, 10000},
	"fanout": {runFanout, 1000},
	"reqrep": {runReqRep, 100},
	"storm":  {runStorm, 50},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: phxbench conns|fanout|reqrep|storm [flags]
run "phxbench MODE -h" for the flags of a mode
`)
}

// run parses args, runs the mode and prints the result; it returns the
// exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	m, ok := modes[args[0]]
	if !ok {
		usage(stderr)
		return 2
	}
	s, err := parseFlags(args[0], m.conns, args[1:], stderr)
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if s.cpuprof != "" {
		f, err := os.Create(s.cpuprof)
		if err != nil {
			fmt.Fprintln(stderr, "phxbench:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "phxbench:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	r := m.run(ctx, s)
	r.write(stdout, s.jsonOut)
	if !r.OK {
		return 1
	}
	return 0
}

func parseFlags(mode string, conns int, args []string, stderr io.Writer) (*settings, error) {
	s := &settings{mode: mode}
	fs := flag.NewFlagSet("phxbench "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.url, "url", "ws://127.0.0.1:4000/socket/websocket?vsn=2.0.0", "WebSocket URL of the Phoenix socket, V2 serializer")
	fs.StringVar(&s.topic, "topic", "room:lobby", "topic to join")
	fs.IntVar(&s.conns, "conns", conns, "connections (conns, reqrep), subscribers (fanout) or concurrent workers (storm)")
	dur := map[string]time.Duration{"conns": 10 * time.Second, "storm": 5 * time.Second}[mode]
	if dur == 0 {
		dur = 10 * time.Second
	}
	fs.DurationVar(&s.duration, "duration", dur, "measured duration (conns: how long the connections are held)")
	fs.DurationVar(&s.warmup, "warmup", time.Second, "fanout, reqrep: load applied but not measured before -duration")
	fs.DurationVar(&s.timeout, "timeout", 10*time.Second, "limit for one dial, one join reply, and for draining at the end")
	fs.DurationVar(&s.heartbeat, "heartbeat", 30*time.Second, "heartbeat interval of every connection, as phoenix.js; 0: none")
	fs.IntVar(&s.dialers, "dialers", 64, "connections dialed and joined at once while setting up")
	fs.IntVar(&s.pid, "pid", 0, "pid of a local server: report its CPU use, and in conns mode its RSS growth per connection")
	fs.IntVar(&s.size, "size", 100, "fanout: payload size in bytes")
	fs.Float64Var(&s.rate, "rate", 0, "fanout: publishes/s; reqrep: total pings/s (open loop); 0: as fast as the window allows")
	fs.IntVar(&s.inflight, "inflight", 64, "fanout: publishes not yet delivered to every subscriber, at most")
	fs.IntVar(&s.window, "window", 10, "reqrep: pings in flight per connection, at most")
	fs.BoolVar(&s.echo, "echo", true, "fanout: the publisher gets its own shouts too (broadcast/3, as the generated RoomChannel); false for a broadcast_from server")
	fs.IntVar(&s.joins, "joins", 0, "storm: stop after this many joins instead of after -duration")
	fs.BoolVar(&s.jsonOut, "json", false, "print the result as one JSON line")
	fs.StringVar(&s.cpuprof, "cpuprofile", "", "write this tool's CPU profile to the file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	u, err := url.Parse(s.url)
	if err != nil || u.Scheme != "ws" && u.Scheme != "wss" || u.Host == "" {
		fmt.Fprintf(stderr, "phxbench %s: -url %q must be a ws:// or wss:// URL\n", mode, s.url)
		return nil, fmt.Errorf("bad -url")
	}
	s.wsURL = u
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "phxbench %s: unexpected argument %q\n", mode, fs.Arg(0))
		return nil, fmt.Errorf("unexpected argument")
	}
	if s.conns < 1 || s.dialers < 1 || s.inflight < 1 || s.window < 1 || s.duration <= 0 || s.timeout <= 0 || s.warmup < 0 || s.rate < 0 {
		fmt.Fprintf(stderr, "phxbench %s: -conns, -dialers, -inflight, -window, -duration and -timeout must be positive\n", mode)
		return nil, fmt.Errorf("bad flags")
	}
	return s, nil
}

// newRun returns a context cancelled by the first failure, and the
// failures collector.
func newRun(ctx context.Context) (context.Context, context.CancelFunc, *failures) {
	ctx, cancel := context.WithCancel(ctx)
	return ctx, cancel, &failures{cancel: cancel}
}

// closeAll closes every connection.
func closeAll(cs []*conn) {
	for _, c := range cs {
		if c != nil {
			c.close()
		}
	}
}

// sleepCtx sleeps for d or until ctx is done; it reports whether the full
// time elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
