package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestMainBinary builds the real hellosockets command, runs it as the doc
// comment of main.go says (-addr host:port), joins "ping" and pings over a
// raw WebSocket, then interrupts it: open sockets are drained with close
// 1012 and the process exits 0.
func TestMainBinary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "hellosockets")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	addr := wireFreeAddr(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-addr", addr)
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr // read only after Wait
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error // set before exited is closed
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("hellosockets stderr:\n%s", stderr.String())
		}
	})

	wireAwaitPort(t, addr, exited)

	// The notes' page is served at /.
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("Hello Sockets")) {
		t.Fatalf("GET /: HTTP %d, page %.80q; want 200 with the hello-sockets page", resp.StatusCode, page)
	}

	c := wireDial(t, "ws://"+addr+"/socket/websocket?vsn=2.0.0")
	for _, ex := range [][2]string{
		{wireNotesJn, wireJoinOK},
		{wireNotesPng, wirePong2},
	} {
		wireWrite(t, c, ex[0])
		got, err := wireRead(c)
		if err != nil || got != ex[1] {
			t.Fatalf("sent %s\nwant %s\n got %q (%v)", ex[0], ex[1], got, err)
		}
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	// Shutdown drains the socket: close 1012, phoenix.js reconnects.
	if got, err := wireRead(c); err == nil || websocket.CloseStatus(err) != websocket.StatusServiceRestart {
		t.Errorf("after SIGINT: got frame %q, err %v (close status %d); want close 1012", got, err, websocket.CloseStatus(err))
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("hellosockets exited with %v, want exit status 0", waitErr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("hellosockets did not exit within 15s of SIGINT")
	}
	if log := stderr.String(); !strings.Contains(log, "hello-sockets listening") || !strings.Contains(log, "CONNECTED TO HelloSockets.UserSocket") {
		t.Errorf("stderr lacks the listening and CONNECTED lines:\n%s", log)
	}
}

// wireFreeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func wireFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// wireAwaitPort polls addr until it accepts a connection, failing at once if
// the process exits first.
func wireAwaitPort(t *testing.T, addr string, exited <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var d net.Dialer
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		conn, err := d.DialContext(dctx, "tcp", addr)
		dcancel()
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("hellosockets exited before listening on %s", addr)
		case <-ctx.Done():
			t.Fatalf("hellosockets is not listening on %s after 30s: %v", addr, err)
		case <-tick.C:
		}
	}
}
