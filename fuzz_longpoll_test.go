package phx_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/phxgo/phx"
)

// rbLPSeeds are LongPoll POST bodies from PROTOCOL.md §9 (LP-6), and their
// edges: batches, CRLF, base64 binary lines, the 100-line cap, garbage.
func rbLPSeeds() []string {
	bin := func(b ...byte) string { return base64.StdEncoding.EncodeToString(b) }
	push := append([]byte{0, 1, 1, 6, 4}, "35room:1ping\x00\xff"...)
	pings := make([]string, 101)
	for i := range pings {
		pings[i] = fmt.Sprintf(`["3","%d","room:1","ping",{}]`, i+4)
	}
	return []string{
		`["3","3","room:1","phx_join",{}]`,
		`["3","3","room:1","phx_join",{}]` + "\n" + `["3","4","room:1","ping",{}]`,
		`["3","3","room:1","phx_join",{}]` + "\r\n" + `["3","4","room:1","echo",{"a":[1,"x",null]}]` + "\r\n",
		`["3","3","room:1","phx_join",{}]` + "\n" + bin(push...),
		`["3","3","room:1","phx_join",{}]` + "\n" + strings.Join(pings, "\n"),
		`[null,"7","phoenix","heartbeat",{}]`,
		`["3","3","room:1","phx_leave",{}]`,
		`["3","3","nope","phx_join",{}]`,
		`["1","1","room:1","phx_join",{}]` + "\n" + `["1","2","room:1","async",{}]` + "\n" + `["1","3","room:1","panic",{}]`,
		`{"topic":"room:1","event":"phx_join","payload":{},"ref":"1"}`,
		``,
		"\n\n\r\n",
		`[oops`,
		`["1","9","room:1","ping"]`,
		`!!!`,
		bin(9, 0, 0, 0, 0),
		bin(0, 1, 1, 6, 4, '1'),
		bin(0, 255, 255, 255, 255),
	}
}

// FuzzLongPollBody sends each body to a fresh LongPoll session: as an
// ndjson batch over vsn 2.0.0, as a plain body (legacy clients) over vsn
// 2.0.0 and over 1.0.0. The answer must be HTTP 200 with {"status":N} for N
// in 200, 408 (an undecodable frame ended the session) or 410 (the session
// ended), or HTTP 400 (a body that is not ndjson); never a panic, never 500.
func FuzzLongPollBody(f *testing.F) {
	for _, s := range rbLPSeeds() {
		f.Add([]byte(s))
	}
	ts := rbServer(f, lpOpts(&phx.SocketOptions{
		Connect: func(_ context.Context, c *phx.Conn) error {
			c.ID = c.Params.Get("id")
			return nil
		},
	}), func(s *phx.Socket) { s.Channel("room:*", &roomChannel{}) }, rbServerOpts{quiet: true})
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	f.Cleanup(client.CloseIdleConnections)
	var ids atomic.Int64
	do := func(t *testing.T, method, u, ctype string, body []byte) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, u, strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s with %q: %v (a panic in the handler, or a hang); goroutines:\n%.20000s", method, u, body, err, rbStacks())
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: reading the answer: %v", method, u, err)
		}
		return resp.StatusCode, string(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, tc := range []struct{ vsn, ctype string }{
			{"2.0.0", "application/x-ndjson"},
			{"2.0.0", "text/plain"},
			{"1.0.0", ""},
		} {
			id := fmt.Sprint("fuzz-", ids.Add(1))
			base := lpURL(ts) + "?id=" + id + "&vsn=" + tc.vsn
			code, open := do(t, http.MethodGet, base, "", nil)
			var s struct {
				Status int    `json:"status"`
				Token  string `json:"token"`
			}
			if code != 200 || json.Unmarshal([]byte(open), &s) != nil || s.Status != 410 || s.Token == "" {
				t.Fatalf("new session: HTTP %d %s", code, open)
			}
			code, answer := do(t, http.MethodPost, base+"&token="+s.Token, tc.ctype, body)
			switch code {
			case 200:
				var a map[string]json.RawMessage
				if err := json.Unmarshal([]byte(answer), &a); err != nil || len(a) != 1 {
					t.Fatalf("POST %q (%s, vsn %s): answer %s, want {\"status\":N}", body, tc.ctype, tc.vsn, answer)
				}
				switch st := string(a["status"]); st {
				case "200", "408", "410":
				default:
					t.Fatalf("POST %q (%s, vsn %s): status %s, want 200, 408 or 410", body, tc.ctype, tc.vsn, st)
				}
			case 400:
			default:
				t.Fatalf("POST %q (%s, vsn %s): HTTP %d %s, want 200 or 400", body, tc.ctype, tc.vsn, code, answer)
			}
			if err := ts.sock.Disconnect(t.Context(), id); err != nil {
				t.Fatal(err)
			}
		}
	})
}
