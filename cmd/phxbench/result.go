package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// result is what a run measured. Fields that do not apply to a mode are
// left zero and omitted from the JSON line.
type result struct {
	Mode       string  `json:"mode"`
	OK         bool    `json:"ok"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Conns      int     `json:"conns"`
	Seconds    float64 `json:"seconds"` // length of the measured window

	// conns and storm
	Joins        int     `json:"joins,omitempty"`
	JoinsPerSec  float64 `json:"joins_per_sec,omitempty"`
	Alive        int     `json:"alive,omitempty"`
	RSSBefore    int64   `json:"rss_before,omitempty"`
	RSSAfter     int64   `json:"rss_after,omitempty"`
	BytesPerConn float64 `json:"bytes_per_conn,omitempty"`

	// fanout
	Publishes          int64   `json:"publishes,omitempty"`
	PublishesPerSec    float64 `json:"publishes_per_sec,omitempty"`
	Deliveries         int64   `json:"deliveries,omitempty"`
	DeliveriesPerSec   float64 `json:"deliveries_per_sec,omitempty"`
	Loss               int64   `json:"loss,omitempty"`
	Duplicates         int64   `json:"duplicates,omitempty"`
	Reorders           int64   `json:"reorders,omitempty"`
	ReceiversWithLoss  int     `json:"receivers_with_loss,omitempty"`
	MaxLossPerReceiver int64   `json:"max_loss_per_receiver,omitempty"`

	// reqrep
	Requests      int64   `json:"requests,omitempty"`
	Replies       int64   `json:"replies,omitempty"`
	RepliesPerSec float64 `json:"replies_per_sec,omitempty"`
	MinPerConn    int64   `json:"min_per_conn,omitempty"`
	MaxPerConn    int64   `json:"max_per_conn,omitempty"`
	Fairness      float64 `json:"fairness,omitempty"` // min/max replies per connection
	// reqrep -rate: how late the pacer sent (p99), microseconds
	SendLagP99us float64 `json:"send_lag_p99_us,omitempty"`

	// latency (fanout: receive time − ts; reqrep: reply − push; conns and
	// storm: connect + join), microseconds
	P50us float64 `json:"p50_us,omitempty"`
	P99us float64 `json:"p99_us,omitempty"`
	MaxUs float64 `json:"max_us,omitempty"`
	// storm: the join alone (phx_join sent → ok reply), microseconds
	JoinP50us float64 `json:"join_p50_us,omitempty"`
	JoinP99us float64 `json:"join_p99_us,omitempty"`

	// CPU use over the measured window, in cores: the server's (given -pid)
	// and this tool's. A tool near 1.0 means the tool, not the server, was
	// the limit.
	ServerCPU float64 `json:"server_cpu,omitempty"`
	ToolCPU   float64 `json:"tool_cpu"`

	// conns and storm with -pid: file descriptors the server still held
	// after the run's connections were closed, over what it held before
	ServerFDsLeft int `json:"server_fds_left,omitempty"`
}

// setLatency fills the latency fields from h.
func (r *result) setLatency(h *hist) {
	r.P50us = us(h.Quantile(0.50))
	r.P99us = us(h.Quantile(0.99))
	r.MaxUs = us(h.Max())
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// write prints r as one JSON line, or as text for people.
func (r *result) write(w io.Writer, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	var sb strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&sb, "  %-22s %v\n", k, v) }
	f1 := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	fmt.Fprintf(&sb, "phxbench %s: ", r.Mode)
	if r.OK {
		sb.WriteString("OK\n")
	} else {
		fmt.Fprintf(&sb, "FAILED (%d errors)\n  first error: %s\n", r.Errors, r.FirstError)
	}
	line("conns", r.Conns)
	line("window (s)", f1(r.Seconds))
	switch r.Mode {
	case "conns":
		line("joined", r.Joins)
		line("joins/s", f1(r.JoinsPerSec))
		line("alive after hold", r.Alive)
		if r.RSSAfter != 0 {
			line("server RSS before", r.RSSBefore)
			line("server RSS after", r.RSSAfter)
			line("bytes/conn", f1(r.BytesPerConn))
		}
	case "storm":
		line("joins", r.Joins)
		line("joins/s", f1(r.JoinsPerSec))
		line("join p50/p99 (µs)", f1(r.JoinP50us)+" / "+f1(r.JoinP99us))
	case "fanout":
		line("publishes", r.Publishes)
		line("publishes/s", f1(r.PublishesPerSec))
		line("deliveries", r.Deliveries)
		line("deliveries/s", f1(r.DeliveriesPerSec))
		line("loss/dup/reorder", fmt.Sprintf("%d / %d / %d", r.Loss, r.Duplicates, r.Reorders))
		line("receivers with loss", r.ReceiversWithLoss)
		line("max loss per receiver", r.MaxLossPerReceiver)
	case "reqrep":
		line("requests", r.Requests)
		line("replies", r.Replies)
		line("replies/s", f1(r.RepliesPerSec))
		line("per conn min/max", fmt.Sprintf("%d / %d (fairness %.2f)", r.MinPerConn, r.MaxPerConn, r.Fairness))
		if r.SendLagP99us != 0 {
			line("pacer lag p99 (µs)", f1(r.SendLagP99us))
		}
	}
	line("latency p50/p99/max µs", f1(r.P50us)+" / "+f1(r.P99us)+" / "+f1(r.MaxUs))
	if r.ServerFDsLeft != 0 {
		line("server fds left", r.ServerFDsLeft)
	}
	if r.ServerCPU != 0 {
		line("server CPU (cores)", strconv.FormatFloat(r.ServerCPU, 'f', 2, 64))
	}
	line("tool CPU (cores)", strconv.FormatFloat(r.ToolCPU, 'f', 2, 64))
	io.WriteString(w, sb.String())
}

// failures collects the errors of a run; the first one cancels it.
type failures struct {
	mu     sync.Mutex
	n      int
	first  error
	cancel func()
}

// add records err. Reads failing because the tool closed the connection
// are not errors.
func (f *failures) add(err error) {
	if err == nil || errors.Is(err, errClosedByUs) {
		return
	}
	f.mu.Lock()
	f.n++
	first := f.first == nil
	if first {
		f.first = err
	}
	f.mu.Unlock()
	if first && f.cancel != nil {
		f.cancel()
	}
}

func (f *failures) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// fill copies the error count and the first error into r.
func (f *failures) fill(r *result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.Errors = f.n
	if f.first != nil {
		r.FirstError = f.first.Error()
	}
	r.OK = f.n == 0
}

// cpuMeter measures the CPU time the server (by pid) and this process use
// over a window.
type cpuMeter struct {
	pid   int
	t0    time.Time
	srv0  time.Duration
	self0 time.Duration
}

// clockTick is USER_HZ, 100 on every Linux platform Go supports.
const clockTick = 10 * time.Millisecond

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid, t0: time.Now(), self0: selfCPU()}
	m.srv0, _ = procCPU(pid)
	return m
}

// stop returns the cores used by the server and by this tool since start.
func (m *cpuMeter) stop() (server, tool float64) {
	el := time.Since(m.t0).Seconds()
	if el <= 0 {
		return 0, 0
	}
	tool = (selfCPU() - m.self0).Seconds() / el
	if s, ok := procCPU(m.pid); ok {
		server = (s - m.srv0).Seconds() / el
	}
	return server, tool
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads utime+stime of pid from /proc/pid/stat.
func procCPU(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces; fields restart after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	fs := strings.Fields(string(b[i+1:]))
	if len(fs) < 13 { // state is field 3; utime 14 and stime 15 overall
		return 0, false
	}
	ut, err1 := strconv.ParseInt(fs[11], 10, 64)
	st, err2 := strconv.ParseInt(fs[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * clockTick, true
}

// openFDs counts the open file descriptors of pid.
func openFDs(pid int) (int, error) {
	des, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(des), err
}

// checkReleased waits up to wait for the server (pid) to be back to at
// most before+slack open file descriptors once every connection of the run
// is closed, and records a failure if it is not: a server that keeps a
// connection open after its client is gone leaks it.
func checkReleased(pid, before, conns int, wait time.Duration, r *result, fail *failures) {
	slack := max(10, conns/100)
	deadline := time.Now().Add(wait)
	for {
		n, err := openFDs(pid)
		if err != nil {
			fail.add(err)
			return
		}
		r.ServerFDsLeft = max(0, n-before)
		if n <= before+slack {
			return
		}
		if time.Now().After(deadline) {
			fail.add(fmt.Errorf("the server holds %d more file descriptors than before the run, %v after its %d connections were closed by the client: it does not release connections whose client went away", n-before, wait, conns))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rss reads VmRSS of pid in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing VmRSS of pid %d: %w", pid, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
