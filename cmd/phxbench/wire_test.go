package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFrame(t *testing.T) {
	f, err := parseFrame([]byte(` [ "1" , null,"room:lobby","phx_reply",{"response":{"a":[1,"]"]},"status":"ok"} ] `))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{string(f.joinRef), string(f.ref), string(f.topic), string(f.event), string(f.payload)}
	want := []string{`"1"`, `null`, `"room:lobby"`, `"phx_reply"`, `{"response":{"a":[1,"]"]},"status":"ok"}`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, bad := range []string{``, `{}`, `[1,2,3,4]`, `[1,2,3,4,5,6]`, `[1,2,3,4,"5]`, `[1,2,3,4,{]`, `[1,2,3,4,5] x`, `[,2,3,4,5]`} {
		if _, err := parseFrame([]byte(bad)); err == nil {
			t.Errorf("parseFrame(%q) accepted", bad)
		}
	}
}

func TestReplyOf(t *testing.T) {
	topic := quote("room:lobby")
	ok := `["3","7","room:lobby","phx_reply",{"response":{"n":1},"status":"ok"}]`
	check := func(raw string, jr, ref uint64) ([]byte, error) {
		f, err := parseFrame([]byte(raw))
		if err != nil {
			return nil, err
		}
		return replyOf([]byte(raw), &f, jr, ref, topic)
	}
	if resp, err := check(ok, 3, 7); err != nil || string(resp) != `{"n":1}` {
		t.Fatalf("good reply: %s, %v", resp, err)
	}
	// Key order and escapes do not matter; types of refs do.
	if _, err := check(`["3","7","room\u003alobby","phx_reply",{"status":"ok","response":1}]`, 3, 7); err != nil {
		t.Errorf("reordered keys, escaped topic: %v", err)
	}
	for _, tc := range []struct{ raw, want string }{
		{ok, "reply ref"},
		{`["3",7,"room:lobby","phx_reply",{"response":{},"status":"ok"}]`, "reply ref"},
		{`[3,"8","room:lobby","phx_reply",{"response":{},"status":"ok"}]`, "join_ref"},
		{`["3","8","room:x","phx_reply",{"response":{},"status":"ok"}]`, "topic"},
		{`["3","8","room:lobby","shout",{"response":{},"status":"ok"}]`, "expected a phx_reply"},
		{`["3","8","room:lobby","phx_reply",{"response":{},"status":"error"}]`, `status "error"`},
		{`["3","8","room:lobby","phx_reply",{"status":"ok"}]`, "needs"},
		{`["3","8","room:lobby","phx_reply",[]]`, "not a JSON object"},
	} {
		if _, err := check(tc.raw, 3, 8); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.raw, err, tc.want)
		}
	}
}

func TestSameJSON(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{`{"n":1,"ts":2}`, `{"n":1,"ts":2}`, true},
		{`{"ts":2, "n":1}`, `{"n":1,"ts":2}`, true},
		{`{"n":1,"ts":1700000000000000001}`, `{"n":1,"ts":1700000000000000002}`, false},
		{`{"n":1.0}`, `{"n":1}`, false},
		{`{"n":1} x`, `{"n":1}`, false},
	} {
		if got := sameJSON([]byte(tc.a), []byte(tc.b)); got != tc.same {
			t.Errorf("sameJSON(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestShoutPayload(t *testing.T) {
	for _, size := range []int{0, 50, 100, 1000} {
		p := appendShout(nil, size, 42, 1700000000123456789)
		if size >= 60 && len(p) != size {
			t.Errorf("size %d: payload is %d bytes", size, len(p))
		}
		seq, ts, err := shoutFields(p)
		if err != nil || seq != 42 || ts != 1700000000123456789 {
			t.Errorf("size %d: %s read back as %d, %d, %v", size, p, seq, ts, err)
		}
	}
	if _, _, err := shoutFields([]byte(`{"seq":"1","ts":2}`)); err == nil {
		t.Error("a string seq was accepted")
	}
}

func TestTracker(t *testing.T) {
	tr := tracker{next: 1}
	for _, s := range []uint64{1, 2, 4, 3, 3, 6, 7} {
		tr.see(s)
	}
	if tr.got != 6 || tr.reorders != 1 || tr.dups != 1 || tr.lost(8) != 2 {
		t.Errorf("got %d, reorders %d, dups %d, lost %d; want 6, 1, 1, 2", tr.got, tr.reorders, tr.dups, tr.lost(8))
	}
}

func TestHist(t *testing.T) {
	var h hist
	vals := make([]int64, 10000)
	for i := range vals {
		vals[i] = rand.Int64N(int64(50 * time.Millisecond))
		h.Record(time.Duration(vals[i]))
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := float64(vals[int(q*float64(len(vals)))-1])
		got := float64(h.Quantile(q))
		if got < exact*0.96 || got > exact*1.04 {
			t.Errorf("q%v = %v, exact %v", q, time.Duration(got), time.Duration(exact))
		}
	}
	if h.Max() != time.Duration(vals[len(vals)-1]) || h.Count() != uint64(len(vals)) {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
	last := bucketOf(math.MaxInt64)
	if last >= len(h.counts) {
		t.Fatalf("the largest duration maps to bucket %d of %d", last, len(h.counts))
	}
	for i := 0; i <= last; i++ {
		lo, hi := bucketRange(i)
		if lo > hi || bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d: range %d..%d maps to %d..%d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
	}
}
