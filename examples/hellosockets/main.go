// Command hellosockets is the hello-sockets app of the Phoenix Channels
// notes, served by phx: PingChannel on "ping" and "ping:*", WildcardChannel
// on "wild:*", RoomChannel on "room:*", the notes' page at /, and
// /broadcast?topic=T&event=E standing in for Endpoint.broadcast in iex.
//
//	go run ./examples/hellosockets -addr 127.0.0.1:4000
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4000", "listen address host:port")
	node := flag.String("node", "nonode@nohost", "node name reported as from_node")
	assets := flag.String("assets", "", "directory holding phoenix.mjs (default: node_modules/phoenix/priv/static)")
	quiet := flag.Bool("quiet", false, "log warnings and errors only, not every connect and join (for load tests)")
	flag.Parse()

	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	a := newApp(appConfig{Node: *node, Logger: log, AssetsDir: *assets})
	srv := &http.Server{Addr: *addr, Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Socket.Shutdown(sctx)
		_ = srv.Shutdown(sctx)
	}()
	log.Info("hello-sockets listening", "url", "http://"+*addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Error("server failed", "error", err)
		os.Exit(1)
	}
}
