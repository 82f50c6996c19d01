package main

import (
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"

	"github.com/phxgo/phx"
)

//go:embed static
var static embed.FS

// appConfig configures the hello-sockets app.
type appConfig struct {
	Node      string       // from_node of send_ping; default "nonode@nohost"
	Logger    *slog.Logger // nil: discard
	AssetsDir string       // holds phoenix.mjs; "" finds node_modules/phoenix/priv/static
}

// app is the hello-sockets site: the page, phoenix.js, the socket and the
// broadcast endpoint that stands in for the notes' iex session.
type app struct {
	Socket  *phx.Socket
	Handler http.Handler
}

func newApp(cfg appConfig) *app {
	if cfg.Node == "" {
		cfg.Node = "nonode@nohost"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AssetsDir == "" {
		cfg.AssetsDir = findAssets()
	}
	sock := phx.NewSocket(&phx.SocketOptions{Name: "HelloSockets.UserSocket", Logger: cfg.Logger, LongPoll: true})
	sock.Channel("ping", PingChannel{Node: cfg.Node})
	sock.Channel("ping:*", PingChannel{Node: cfg.Node})
	sock.Channel("wild:*", WildcardChannel{})
	sock.Channel("room:*", RoomChannel{})

	mux := http.NewServeMux()
	mux.Handle("/socket/", http.StripPrefix("/socket", sock))
	mux.HandleFunc("/broadcast", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		payload := json.RawMessage("{}")
		if len(body) > 0 {
			payload = body
		}
		q := r.URL.Query()
		if err := sock.Broadcast(r.Context(), q.Get("topic"), q.Get("event"), payload); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.Handle("/assets/", http.StripPrefix("/assets", assetsHandler(cfg.AssetsDir, cfg.Logger)))
	page, _ := fs.Sub(static, "static")
	mux.Handle("/", http.FileServerFS(page))
	return &app{Socket: sock, Handler: mux}
}

// assetsHandler serves phoenix.mjs from the npm package.
func assetsHandler(dir string, log *slog.Logger) http.Handler {
	if dir == "" {
		log.Warn("phoenix.js not found: run `npm ci` in examples/hellosockets (or pass -assets); the page will not load")
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "phoenix.js is not installed: run `npm ci` in examples/hellosockets", http.StatusNotFound)
		})
	}
	return http.FileServer(http.Dir(dir))
}

// findAssets looks for node_modules/phoenix/priv/static beside this source
// file, then under the working directory.
func findAssets() string {
	var dirs []string
	if _, file, _, ok := runtime.Caller(0); ok {
		dirs = append(dirs, filepath.Dir(file))
	}
	dirs = append(dirs, ".", "examples/hellosockets")
	for _, d := range dirs {
		p := filepath.Join(d, "node_modules", "phoenix", "priv", "static")
		if _, err := os.Stat(filepath.Join(p, "phoenix.mjs")); err == nil {
			return p
		}
	}
	return ""
}
