package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/internal/redistest"
	"github.com/longyou/hub/storage/postgres/pgtest"
)

// cluster is several hubd processes on one PostgreSQL database and one
// Redis, each test with its own database and key prefix.
type cluster struct {
	t        *testing.T
	pgURL    string
	redis    *redistest.Server
	redisURL string
	prefix   string
	admin    string
	nodes    []*proc
}

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	cl := &cluster{t: t, pgURL: pgtest.TestURL(t), redis: redistest.Start(t),
		prefix: fmt.Sprintf("t%d:", time.Now().UnixNano()), admin: "test-admin-token-0123456789abcdef"}
	cl.redisURL = cl.redis.URL()
	for i := range n {
		cl.nodes = append(cl.nodes, cl.startNode(i, freeAddr(t)))
	}
	return cl
}

func (cl *cluster) startNode(i int, addr string) *proc {
	cl.t.Helper()
	return start(cl.t, addr, "-postgres", cl.pgURL, "-redis", cl.redisURL, "-redis-prefix", cl.prefix,
		"-node-id", fmt.Sprintf("node-%d", i), "-admin-token", cl.admin, "-sms-rate", "100")
}

// wsClient reads a member's frames in the background.
type wsClient struct {
	t      *testing.T
	c      *websocket.Conn
	member string

	mu         sync.Mutex // guards frames, seqs, closed
	frames     []map[string]any
	seqs       []float64 // event seqs in arrival order
	closed     bool
	welcomeSeq float64
}

func connectMember(t *testing.T, addr, token, member string, since float64) *wsClient {
	t.Helper()
	wc := &wsClient{t: t, c: dialWS(t, addr, token), member: member}
	w := readFrame(t, wc.c)
	if w["type"] != "welcome" {
		t.Fatalf("first frame %v, want the welcome", w)
	}
	wc.welcomeSeq = w["seq"].(float64)
	go wc.read()
	if since >= 0 {
		data, _ := json.Marshal(map[string]any{"type": "resume", "id": "r", "since": since})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := wc.c.Write(ctx, websocket.MessageText, data); err != nil {
			t.Fatalf("resume: %v", err)
		}
	}
	t.Cleanup(func() { wc.c.CloseNow() })
	return wc
}

func (wc *wsClient) read() {
	for {
		_, data, err := wc.c.Read(context.Background())
		if err != nil {
			wc.mu.Lock()
			wc.closed = true
			wc.mu.Unlock()
			return
		}
		var f map[string]any
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		wc.mu.Lock()
		wc.frames = append(wc.frames, f)
		if s, ok := f["seq"].(float64); ok && f["type"] != "welcome" {
			wc.seqs = append(wc.seqs, s)
		}
		wc.mu.Unlock()
	}
}

// count counts the frames for which match is true.
func (wc *wsClient) count(match func(map[string]any) bool) int {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	n := 0
	for _, f := range wc.frames {
		if match(f) {
			n++
		}
	}
	return n
}

func (wc *wsClient) lastSeq() float64 {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	s := wc.welcomeSeq
	for _, x := range wc.seqs {
		s = max(s, x)
	}
	return s
}

func isAlert(id string) func(map[string]any) bool {
	return func(f map[string]any) bool {
		a, _ := f["alert"].(map[string]any)
		return f["type"] == "alert" && a != nil && a["id"] == id
	}
}

func isBulletin(id string) func(map[string]any) bool {
	return func(f map[string]any) bool {
		b, _ := f["bulletin"].(map[string]any)
		return f["type"] == "bulletin" && b != nil && b["id"] == id
	}
}

// waitAll waits until every client has exactly one frame matching, and
// fails naming those that do not within d.
func waitAll(t *testing.T, what string, cs []*wsClient, match func(map[string]any) bool, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		var missing []string
		for _, c := range cs {
			if n := c.count(match); n != 1 {
				if n > 1 {
					t.Fatalf("%s: member %s got it %d times", what, c.member, n)
				}
				missing = append(missing, c.member)
			}
		}
		if len(missing) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("%s: %d of %d members never got it within %v: %v", what, len(missing), len(cs), d, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// none checks that no client has a frame matching.
func none(t *testing.T, what string, cs []*wsClient, match func(map[string]any) bool) {
	t.Helper()
	for _, c := range cs {
		if n := c.count(match); n != 0 {
			t.Fatalf("%s: member %s (not addressed) got it %d times", what, c.member, n)
		}
	}
}

// inOrder checks that every client's events came in increasing seq order.
func inOrder(t *testing.T, cs []*wsClient) {
	t.Helper()
	for _, c := range cs {
		c.mu.Lock()
		seqs := slices.Clone(c.seqs)
		c.mu.Unlock()
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Fatalf("member %s got seq %v after %v (all: %v)", c.member, seqs[i], seqs[i-1], seqs)
			}
		}
	}
}

// waitTargeted waits until a preview on p of the circle targets n members:
// members made on another node reach p's directory through Redis a moment
// after their 201.
func (cl *cluster) waitTargeted(p *proc, lat, lng, radius float64, n int) {
	cl.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, pv := p.call("POST", "/api/v1/alerts/preview", cl.admin, map[string]any{"kind": "warning", "severity": "severe",
			"title": "t", "area": map[string]any{"circle": map[string]any{"lat": lat, "lng": lng, "radius_m": radius}}})
		if pv["targeted"] == float64(n) {
			return
		}
		if time.Now().After(deadline) {
			cl.t.Fatalf("preview on %s: %v, want %d targeted", p.addr, pv, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (cl *cluster) alert(p *proc, lat, lng, radius float64) (string, map[string]any) {
	cl.t.Helper()
	code, out := p.call("POST", "/api/v1/alerts", cl.admin, map[string]any{"kind": "warning", "severity": "severe",
		"title": "山洪预警", "body": "请立即转移", "area": map[string]any{"circle": map[string]any{"lat": lat, "lng": lng, "radius_m": radius}}})
	if code != 201 {
		cl.t.Fatalf("alert on %s: %d %v", p.addr, code, out)
	}
	return out["alert"].(map[string]any)["id"].(string), out
}

// TestClusterThreeNodes runs three hubd processes on one PostgreSQL and a
// Redis started for the test: members connected to different nodes get
// every alert, bulletin and report that concerns them exactly once and in
// order, whichever node accepted it; a member created on one node is
// targeted from another at once; the preview counts every node's
// connections; a node killed with SIGKILL loses nothing (its members
// resume on another); Redis killed and restarted in the middle of a
// stream of alerts loses none of them, and nobody has to reconnect.
func TestClusterThreeNodes(t *testing.T) {
	cl := startCluster(t, 3)
	n0, n1, n2 := cl.nodes[0], cl.nodes[1], cl.nodes[2]
	vid := n0.village(cl.admin, "下宅村", "湖镇")

	// 24 residents inside a 1 km circle, 6 outside, all made on node 0.
	type mem struct{ id, tok string }
	var inside, outside []mem
	for i := range 30 {
		lat := 29.03 + float64(i%6)*0.0005
		if i >= 24 {
			lat = 29.10 // ~8 km north
		}
		code, out := n0.call("POST", "/api/v1/members", cl.admin, map[string]any{"name": fmt.Sprintf("村民%d", i),
			"phone": fmt.Sprintf("+86139%08d", i), "role": "resident", "village_id": vid,
			"home": map[string]any{"lat": lat, "lng": 119.17}})
		if code != 201 {
			t.Fatalf("member %d: %d %v", i, code, out)
		}
		m := mem{out["member"].(map[string]any)["id"].(string), out["token"].(string)}
		if i < 24 {
			inside = append(inside, m)
		} else {
			outside = append(outside, m)
		}
	}
	// Spread them over the three nodes.
	var in, out []*wsClient
	onNode := map[*wsClient]int{}
	for i, m := range inside {
		c := connectMember(t, cl.nodes[i%3].addr, m.tok, m.id, -1)
		in = append(in, c)
		onNode[c] = i % 3
	}
	for i, m := range outside {
		out = append(out, connectMember(t, cl.nodes[i%3].addr, m.tok, m.id, -1))
	}
	all := append(slices.Clone(in), out...)

	// The preview on node 2 counts the connections of every node.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, pv := n2.call("POST", "/api/v1/alerts/preview", cl.admin, map[string]any{"kind": "warning", "severity": "severe",
			"title": "t", "area": map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 1000}}})
		if code != 200 {
			t.Fatalf("preview: %d %v", code, pv)
		}
		if pv["targeted"].(float64) == 24 && pv["connected"].(float64) == 24 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("preview on node 2 = %v, want 24 targeted, 24 connected (on all nodes)", pv)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Alerts from each node reach everyone inside, once, and no one outside.
	for _, p := range cl.nodes {
		cl.waitTargeted(p, 29.03, 119.17, 1000, 24)
	}
	for i, p := range cl.nodes {
		id, res := cl.alert(p, 29.03, 119.17, 1000)
		if res["targeted"].(float64) != 24 {
			t.Fatalf("alert from node %d targeted %v, want 24 (members made on node 0)", i, res["targeted"])
		}
		waitAll(t, fmt.Sprintf("alert from node %d", i), in, isAlert(id), 10*time.Second)
		none(t, fmt.Sprintf("alert from node %d", i), out, isAlert(id))
	}

	// A county-wide bulletin from node 1 reaches everyone.
	code, b := n1.call("POST", "/api/v1/bulletins", cl.admin, map[string]any{"village_id": "", "category": "notice", "title": "通知", "body": "防汛值班"})
	if code != 201 {
		t.Fatalf("bulletin: %d %v", code, b)
	}
	waitAll(t, "bulletin", all, isBulletin(b["bulletin"].(map[string]any)["id"].(string)), 10*time.Second)

	// A report from a member on node 2 reaches a commander on node 0.
	code, cmdr := n0.call("POST", "/api/v1/members", cl.admin, map[string]any{"name": "指挥员", "phone": "+8613700000001", "role": "commander"})
	if code != 201 {
		t.Fatalf("commander: %d %v", code, cmdr)
	}
	boss := connectMember(t, n0.addr, cmdr["token"].(string), "commander", -1)
	reporter := in[2] // on node 2
	data, _ := json.Marshal(map[string]any{"type": "report", "id": "rep", "kind": "flood", "text": "桥被淹", "lat": 29.03, "lng": 119.17})
	if err := reporter.c.Write(context.Background(), websocket.MessageText, data); err != nil {
		t.Fatal(err)
	}
	isReport := func(f map[string]any) bool { return f["type"] == "report" }
	waitAll(t, "report to the commander on another node", []*wsClient{boss}, isReport, 10*time.Second)

	// Answers on every node count in the progress read on node 1.
	id, _ := cl.alert(n0, 29.03, 119.17, 1000)
	waitAll(t, "alert to answer", in, isAlert(id), 10*time.Second)
	for _, c := range in {
		data, _ := json.Marshal(map[string]any{"type": "ack", "id": "a", "alert_id": id, "response": "safe"})
		if err := c.c.Write(context.Background(), websocket.MessageText, data); err != nil {
			t.Fatal(err)
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, pr := n1.call("GET", "/api/v1/alerts/"+id, cl.admin, nil)
		acked := pr["progress"].(map[string]any)["acked"].(map[string]any)
		if acked["safe"].(float64) == 24 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress on node 1: %v, want 24 safe", pr["progress"])
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A member created on node 1 is targeted by an alert sent from node 2
	// right after (node 2 learnt of it through Redis).
	code, nm := n1.call("POST", "/api/v1/members", cl.admin, map[string]any{"name": "新村民", "phone": "+8613900099999",
		"role": "resident", "village_id": vid, "home": map[string]any{"lat": 29.031, "lng": 119.171}})
	if code != 201 {
		t.Fatalf("new member: %d %v", code, nm)
	}
	newbie := connectMember(t, n0.addr, nm["token"].(string), "newbie", -1)
	deadline = time.Now().Add(5 * time.Second)
	var nid string
	for {
		var res map[string]any
		nid, res = cl.alert(n2, 29.03, 119.17, 1000)
		if res["targeted"].(float64) == 25 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 2 never targeted the member made on node 1: %v", res)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitAll(t, "alert to the new member", append(slices.Clone(in), newbie), isAlert(nid), 10*time.Second)
	inOrder(t, all)

	// SIGKILL node 1 while alerts stream from node 0: its members resume
	// on node 2 and end with every alert exactly once.
	var ids []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 6 {
			id, _ := cl.alert(n0, 29.03, 119.17, 1000)
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	})
	time.Sleep(100 * time.Millisecond)
	if err := n1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = n1.cmd.Wait()
	wg.Wait()
	var resumed, stayed, olds []*wsClient
	for _, c := range in {
		if onNode[c] != 1 {
			stayed = append(stayed, c)
			continue
		}
		// Its connection is gone; reconnect to node 2 from the last seq.
		deadline := time.Now().Add(5 * time.Second)
		for {
			c.mu.Lock()
			closed := c.closed
			c.mu.Unlock()
			if closed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %s on the killed node still connected", c.member)
			}
			time.Sleep(20 * time.Millisecond)
		}
		nc := connectMember(t, n2.addr, inside[slices.Index(in, c)].tok, c.member, c.lastSeq())
		resumed = append(resumed, nc)
		olds = append(olds, c)
	}
	for _, id := range ids {
		// On the new connection every active alert comes once (resumed, or
		// pushed as active: docs/API.md lets a new connection get the
		// active alerts again); the old one never had it twice.
		waitAll(t, "alert during the node's death, resumed", resumed, isAlert(id), 10*time.Second)
		for _, c := range olds {
			if n := c.count(isAlert(id)); n > 1 {
				t.Fatalf("member %s got alert %s %d times on its old connection", c.member, id, n)
			}
		}
		waitAll(t, "alert during the node's death, live", stayed, isAlert(id), 10*time.Second)
	}
	inOrder(t, stayed)

	// Redis killed mid-stream: alerts accepted meanwhile reach every live
	// member on every node, from the store, without anyone reconnecting.
	live := append(slices.Clone(stayed), resumed...)
	ids = nil
	for i := range 4 {
		if i == 1 {
			cl.redis.Kill()
		}
		if i == 3 {
			cl.redis.Restart()
		}
		id, _ := cl.alert(cl.nodes[[]int{0, 2, 0, 2}[i]], 29.03, 119.17, 1000)
		ids = append(ids, id)
	}
	for _, id := range ids {
		took := waitAll(t, "alert around a Redis restart", live, isAlert(id), 15*time.Second)
		t.Logf("alert %s reached all %d live members %v after the last POST", id, len(live), took)
	}
	for _, c := range live {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed {
			t.Fatalf("member %s was disconnected by the Redis restart", c.member)
		}
	}
	inOrder(t, stayed)

	// /readyz is 200 again once Redis is back.
	deadline = time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + n0.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 after Redis came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterReadyzWithoutRedis: with Redis down a node says 503 on
// /readyz (a load balancer prefers the others) but still accepts and
// stores an alert.
func TestClusterReadyzWithoutRedis(t *testing.T) {
	cl := startCluster(t, 1)
	p := cl.nodes[0]
	cl.redis.Kill()
	resp, err := http.Get("http://" + p.addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with Redis down = %d, want 503", resp.StatusCode)
	}
	cl.alert(p, 29.03, 119.17, 1000)
}

// TestRedisNeedsPostgres: -redis with the embedded store is refused, and
// the message names -postgres.
func TestRedisNeedsPostgres(t *testing.T) {
	_, err := parseConfig([]string{"-redis", "redis://127.0.0.1:1"}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "-postgres") {
		t.Fatalf("parseConfig(-redis without -postgres) = %v, want an error naming -postgres", err)
	}
}

// TestClusterNodeStartsWithoutRedis: a node started while Redis is down
// comes up unready (/readyz 503) and still accepts and stores an alert;
// once Redis is back it is ready without a restart, and an alert sent from
// another node reaches its member.
func TestClusterNodeStartsWithoutRedis(t *testing.T) {
	cl := &cluster{t: t, pgURL: pgtest.TestURL(t), redis: redistest.Start(t), prefix: "down:", admin: "test-admin-token-0123456789abcdef"}
	cl.redisURL = cl.redis.URL()
	cl.redis.Kill()
	a := cl.startNode(0, freeAddr(t))
	ready := func(p *proc) int {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := ready(a); c != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with Redis down = %d, want 503", c)
	}
	vid := a.village(cl.admin, "下宅村", "湖镇")
	code, out := a.call("POST", "/api/v1/members", cl.admin, map[string]any{"name": "村民", "phone": "+8613900012345",
		"role": "resident", "village_id": vid, "home": map[string]any{"lat": 29.03, "lng": 119.17}})
	if code != 201 {
		t.Fatalf("member: %d %v", code, out)
	}
	c := connectMember(t, a.addr, out["token"].(string), "m", -1)
	first, _ := cl.alert(a, 29.03, 119.17, 1000) // stored and delivered here with Redis down
	waitAll(t, "alert sent while Redis was down", []*wsClient{c}, isAlert(first), 10*time.Second)

	cl.redis.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for ready(a) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("node not ready 15 s after Redis came back\n%s", a.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b := cl.startNode(1, freeAddr(t))
	second, _ := cl.alert(b, 29.03, 119.17, 1000)
	waitAll(t, "alert from the other node after Redis came back", []*wsClient{c}, isAlert(second), 10*time.Second)
}

// TestClusterMoveInAcrossNodes: a member created, or moving, inside the
// area of an alert that another node accepted is addressed by it at once
// (every node keeps the cluster's active alerts, not only its own).
func TestClusterMoveInAcrossNodes(t *testing.T) {
	cl := startCluster(t, 2)
	n0, n1 := cl.nodes[0], cl.nodes[1]
	vid := n0.village(cl.admin, "下宅村", "湖镇")
	// A probe inside the area, connected to node 0: once it has node 1's
	// alert, node 0 has taken the alert into its cache too (right after
	// delivering it). An alert is known to the other nodes a moment after
	// its 201, as members are (README "A cluster of nodes").
	code, out := n0.call("POST", "/api/v1/members", cl.admin, map[string]any{"name": "探针", "phone": "+8613900077776",
		"role": "resident", "village_id": vid, "home": map[string]any{"lat": 29.03, "lng": 119.17}})
	if code != 201 {
		t.Fatalf("probe: %d %v", code, out)
	}
	probe := connectMember(t, n0.addr, out["token"].(string), "probe", -1)
	cl.waitTargeted(n1, 29.03, 119.17, 1000, 1)
	id, _ := cl.alert(n1, 29.03, 119.17, 1000)
	waitAll(t, "node 1's alert to the probe on node 0", []*wsClient{probe}, isAlert(id), 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	// A member created on node 0, inside, after the alert: connecting to
	// node 0 brings the alert node 1 accepted.
	code, out = n0.call("POST", "/api/v1/members", cl.admin, map[string]any{"name": "新村民", "phone": "+8613900077777",
		"role": "resident", "village_id": vid, "home": map[string]any{"lat": 29.031, "lng": 119.171}})
	if code != 201 {
		t.Fatalf("member: %d %v", code, out)
	}
	c := connectMember(t, n0.addr, out["token"].(string), "newcomer", -1)
	waitAll(t, "another node's alert to a member created inside it", []*wsClient{c}, isAlert(id), 10*time.Second)
	// A patrol outside the area moves in, telling node 0 its position.
	code, out = n1.call("POST", "/api/v1/members", cl.admin, map[string]any{"name": "网格员", "phone": "+8613900077778",
		"role": "patrol", "village_id": vid, "home": map[string]any{"lat": 29.10, "lng": 119.17}})
	if code != 201 {
		t.Fatalf("patrol: %d %v", code, out)
	}
	cl.waitTargeted(n0, 29.10, 119.17, 100, 1) // node 0 knows the patrol
	p := connectMember(t, n0.addr, out["token"].(string), "patrol", -1)
	data, _ := json.Marshal(map[string]any{"type": "locate", "id": "l", "lat": 29.0305, "lng": 119.1705})
	if err := p.c.Write(context.Background(), websocket.MessageText, data); err != nil {
		t.Fatal(err)
	}
	waitAll(t, "another node's alert to a patrol who moved in", []*wsClient{p}, isAlert(id), 10*time.Second)
	// Cancelled on node 1: node 0 no longer addresses it to newcomers.
	if code, out := n1.call("POST", "/api/v1/alerts/"+id+"/cancel", cl.admin, nil); code != 200 {
		t.Fatalf("cancel: %d %v", code, out)
	}
	waitAll(t, "the cancel", []*wsClient{c, p}, func(f map[string]any) bool {
		return f["type"] == "alert_cancel" && f["alert_id"] == id
	}, 10*time.Second)
	code, out = n1.call("POST", "/api/v1/members", cl.admin, map[string]any{"name": "后来者", "phone": "+8613900077779",
		"role": "resident", "village_id": vid, "home": map[string]any{"lat": 29.031, "lng": 119.171}})
	if code != 201 {
		t.Fatalf("late member: %d %v", code, out)
	}
	cl.waitTargeted(n0, 29.03, 119.17, 1000, 4) // the probe, the newcomer, the patrol (live position), the late one
	late := connectMember(t, n0.addr, out["token"].(string), "late", -1)
	time.Sleep(500 * time.Millisecond)
	none(t, "a cancelled alert", []*wsClient{late}, isAlert(id))
}
