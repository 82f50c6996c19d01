// Package leakcheck finds goroutines a test binary left running: phx starts
// goroutines per connection and per busy session, and every one of them must
// end when its connection does. Call Check from TestMain after m.Run.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// ignored lists functions whose goroutines belong to the runtime or the
// testing package, not to the code under test.
var ignored = []string{
	"testing.(*M).",
	"testing.tRunner",
	"testing.runTests",
	"testing.runExamples",
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
}

// Check waits up to wait for every goroutine but the caller's and the
// ignored ones to exit, and returns an error listing the stacks of those
// still running.
func Check(wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for delay := time.Millisecond; ; delay *= 2 {
		leaked := interesting()
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leakcheck: %d goroutine(s) still running %v after the tests:\n\n%s",
				len(leaked), wait, strings.Join(leaked, "\n\n"))
		}
		time.Sleep(min(delay, 100*time.Millisecond))
	}
}

func interesting() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || strings.TrimSpace(g) == "" {
			continue // the first stack is the caller's own goroutine
		}
		if !isIgnored(g) {
			out = append(out, g)
		}
	}
	return out
}

func isIgnored(stack string) bool {
	lines := strings.Split(stack, "\n")
	if len(lines) < 2 {
		return true
	}
	for _, f := range ignored {
		if strings.Contains(stack, f) {
			return true
		}
	}
	return false
}

// Main runs the tests of m and, when they pass, fails the binary if a
// goroutine is still running after wait: call it as the whole body of a
// package's TestMain.
func Main(m interface{ Run() int }, wait time.Duration) {
	code := m.Run()
	if code == 0 {
		if err := Check(wait); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
