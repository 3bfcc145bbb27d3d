package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/storage"
)

// The flood limits of the core (issue 13): connection caps and the
// bounded sent-seq set. The command rate is exercised through the API's
// handler, in server/flood_ws_test.go.

// TestSentSetBounded: whatever order seqs come in, none is new twice, the
// exact window never holds (or allocates) more than its size, every seq
// above the mark that was sent is in it, and a rising stream above the
// mark is always new. A move-in push at or below the mark is new.
func TestSentSetBounded(t *testing.T) {
	t.Parallel()
	const window = 64
	var s sentSet
	seen := map[int64]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		seq := 1 + rng.Int64N(5000)
		if s.mark(seq, window, false) {
			if seen[seq] {
				t.Fatalf("seq %d new twice", seq)
			}
			seen[seq] = true
		}
		if len(s.seqs) > window || cap(s.seqs) > window {
			t.Fatalf("window holds %d (cap %d), want at most %d", len(s.seqs), cap(s.seqs), window)
		}
	}
	for seq := range seen {
		if _, in := slicesFind(s.seqs, seq); seq > s.floor && !in {
			t.Fatalf("seq %d sent, above the mark %d, missing from the window", seq, s.floor)
		}
	}
	for seq := int64(5001); seq < 7000; seq++ {
		if !s.mark(seq, window, false) {
			t.Fatalf("live seq %d above every other taken for sent", seq)
		}
	}
	if s.floor < 5000 || s.mark(s.floor, window, false) || !s.mark(s.floor, window, true) {
		t.Fatalf("mark %d: at or below it counts as sent, except a move-in push", s.floor)
	}
}

func slicesFind(xs []int64, x int64) (int, bool) {
	for i, y := range xs {
		if y == x {
			return i, true
		}
	}
	return -1, false
}

// resumeHandler answers ping and resume as the API does (the reply's
// "from" when the replay started above since).
type resumeHandler struct{ h *Node }

func (rh resumeHandler) HandleFrame(c *Conn, _ bool, data []byte) {
	var cmd struct {
		Type  string `json:"type"`
		ID    string `json:"id"`
		Since int64  `json:"since"`
	}
	if json.Unmarshal(data, &cmd) != nil {
		return
	}
	res := map[string]any{}
	if cmd.Type == "resume" {
		ctx, done := c.CommandContext()
		newest, from, err := rh.h.ResumeFrom(ctx, c, cmd.Since)
		done()
		if err != nil {
			out, _ := json.Marshal(map[string]any{"type": "reply", "id": cmd.ID, "ok": false, "error": err.Error()})
			c.Send(out)
			return
		}
		res["seq"], res["from"] = newest, from
	}
	out, _ := json.Marshal(map[string]any{"type": "reply", "id": cmd.ID, "ok": true, "data": res})
	c.Send(out)
}

// TestLongResumeStaysExactlyOnceWithBoundedSent: a connection with a
// window of 16 resumes from 0 over 200 stored events while 100 more are
// stored and published live during the replay: every event arrives once,
// none twice, and the connection remembers at most 16 seqs. A second
// resume from 0 on it starts at its mark (the reply says so) and sends
// nothing again; live events after it still arrive, once.
func TestLongResumeStaysExactlyOnceWithBoundedSent(t *testing.T) {
	t.Parallel()
	const window = 16
	e := newEnv(t, func(c *Config) { c.SentWindow = window })
	e.h.SetHooks(Hooks{Commands: resumeHandler{e.h}, Audience: everyone})
	m, tok := e.member(storage.RoleResident, 0, inside)
	want := map[int64]bool{}
	for i := range 200 {
		want[e.bulletinEvent(fmt.Sprint("old", i)).Seq] = true
	}
	w := e.dial(tok)
	w.welcome()
	live := make(chan *storage.Event, 100)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 100 {
			ev := e.bulletinEvent(fmt.Sprint("live", i))
			live <- ev
			e.h.PublishEvent(context.Background(), ev, Audience{AnyRoles: AllRoles})
		}
		close(live)
	})
	reply, before := w.cmd(map[string]any{"type": "resume", "since": 0})
	wg.Wait()
	for ev := range live {
		want[ev.Seq] = true
	}
	got := map[int64]int{}
	count := func(fs []map[string]any) {
		for _, f := range fs {
			if f["type"] == "bulletin" {
				got[num(f["seq"])]++
			}
		}
	}
	count(before)
	for len(got) < len(want) {
		count([]map[string]any{w.next()})
	}
	for seq, n := range got {
		if n != 1 || !want[seq] {
			t.Fatalf("seq %d arrived %d times (expected: %v)", seq, n, want[seq])
		}
	}
	if data := reply["data"].(map[string]any); num(data["from"]) != 0 {
		t.Fatalf("first resume from 0: %v, want from 0", reply)
	}
	c := e.serverConn(m.ID)
	c.mu.Lock()
	held, floor := len(c.sent.seqs), c.sent.floor
	c.mu.Unlock()
	if held > window || floor == 0 {
		t.Fatalf("connection remembers %d seqs above %d, want at most %d above a mark", held, floor, window)
	}

	reply, before = w.cmd(map[string]any{"type": "resume", "since": 0})
	if data := reply["data"].(map[string]any); num(data["from"]) != floor || len(before) != 0 {
		t.Fatalf("resume from 0 again: %v after %d frames, want from %d and nothing sent", reply, len(before), floor)
	}
	next := e.bulletinEvent("after")
	e.h.PublishEvent(context.Background(), next, Audience{AnyRoles: AllRoles})
	if f := w.next(); f["type"] != "bulletin" || num(f["seq"]) != next.Seq {
		t.Fatalf("after the resumes got %v, want bulletin %d", f, next.Seq)
	}
}

// TestMemberConnCapClosesOldest: a member's connection beyond the cap
// closes its oldest with 1008 "replaced by a newer connection"; the others
// stay open, and other members are not touched.
func TestMemberConnCapClosesOldest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxConnsPerMember = 2 })
	m, tok := e.member(storage.RoleResident, 0, inside)
	_, otherTok := e.member(storage.RoleResident, 0, inside)
	other := e.dial(otherTok)
	other.welcome()
	// Each welcome is sent after its connection is registered: waiting for
	// it orders the three (two dials in flight at once may register in
	// either order).
	first := e.dial(tok)
	first.welcome()
	second := e.dial(tok)
	second.welcome()
	third := e.dial(tok)
	third.welcome()
	wantClose(t, waitClosed(t, first), websocket.StatusPolicyViolation, "replaced by a newer connection")
	for _, w := range []*wsClient{second, third, other} {
		if r, _ := w.cmd(map[string]any{"type": "ping"}); r["ok"] != true {
			t.Fatalf("ping on a connection left open: %v", r)
		}
	}
	eventually(t, "the replaced connection is gone", func() bool { return e.h.conns.forMember(m.ID, func(*Conn) {}) == 2 })
	if n := dropCount(e.h, "member_conns"); n != 1 {
		t.Fatalf("member_conns drops %v, want 1", n)
	}
}

// TestAddrConnCap: connections from one address beyond the cap are
// refused with 429 rate_limited before the upgrade, whoever's they are;
// one closing makes room for another.
func TestAddrConnCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxConnsPerAddr = 3 })
	var ws []*wsClient
	for range 3 {
		_, tok := e.member(storage.RoleResident, 0, inside)
		w := e.dial(tok)
		w.welcome()
		ws = append(ws, w)
	}
	_, tok := e.member(storage.RoleResident, 0, inside)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws"
	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fourth connection from one address: %v %v, want 429", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"code":"rate_limited"`) {
		t.Fatalf("429 body %s, want the rate_limited error object", body)
	}
	ws[0].c.Close(websocket.StatusNormalClosure, "")
	eventually(t, "a slot is free", func() bool { return e.h.Connections() == 2 })
	w := e.dial(tok)
	w.welcome()
	if n := dropCount(e.h, "addr_conns"); n != 1 {
		t.Fatalf("addr_conns drops %v, want 1", n)
	}
}

// TestAddrKey: IPv4 addresses count alone, IPv6 by /64.
func TestAddrKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"10.1.2.3:5555":              "10.1.2.3",
		"[::ffff:10.1.2.3]:80":       "10.1.2.3",
		"[2001:db8:1:2:aaaa::1]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":      "2001:db8:1:3::/64",
		"not an address":             "not an address",
	} {
		if got := addrKey(in); got != want {
			t.Errorf("addrKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// waitClosed reads w's frames until the connection ends and returns why,
// failing after 10 seconds.
func waitClosed(t testing.TB, w *wsClient) error {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-w.frames:
			if !ok {
				return <-w.closed
			}
		case <-deadline:
			t.Fatalf("connection still open after 10s")
		}
	}
}
