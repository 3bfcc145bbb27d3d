package main

import (
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/internal/redistest"
	"github.com/longyou/hub/notify/twiliofake"
	"github.com/longyou/hub/storage/postgres/pgtest"
)

// TestClusterSMSRateAndCallbacks: three nodes send one alert's SMS to 24
// offline members through Twilio (the fake) at -sms-rate 6 between them:
// the three together never send more than the rate in any second, every
// member gets exactly one SMS, and Twilio's delivery callbacks, which all
// go to node 0 (the public URL, as behind a load balancer), are applied
// to the messages the other nodes sent.
func TestClusterSMSRateAndCallbacks(t *testing.T) {
	const sid, token = "AC00000000000000000000000000000003", "0123456789abcdef0123456789abcdef"
	fake := twiliofake.New(sid, token)
	fake.AutoDeliver(50 * time.Millisecond)
	fsrv := httptest.NewServer(fake)
	defer fsrv.Close()
	defer fake.Close()

	pgURL, rds := pgtest.TestURL(t), redistest.Start(t)
	const admin = "test-admin-token-0123456789abcdef"
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	env := []string{"TWILIO_ACCOUNT_SID=" + sid, "TWILIO_AUTH_TOKEN=" + token, "TWILIO_FROM=+15005550006",
		"TWILIO_API_URL=" + fsrv.URL, "TWILIO_MESSAGING_SERVICE_SID="}
	var nodes []*proc
	for i, a := range addrs {
		nodes = append(nodes, startEnv(t, a, env, "-postgres", pgURL, "-redis", rds.URL(), "-redis-prefix", "sms:",
			"-node-id", fmt.Sprint("node-", i), "-admin-token", admin, "-sms-rate", "6",
			"-public-url", "http://"+addrs[0]))
	}
	vid := nodes[0].village(admin, "塘头村", "溪口镇")
	const n = 24
	for i := range n {
		if code, out := nodes[i%3].call("POST", "/api/v1/members", admin, map[string]any{"name": fmt.Sprint("村民", i),
			"phone": fmt.Sprintf("+861380001%04d", i), "role": "resident", "village_id": vid,
			"home": map[string]any{"lat": 29.031, "lng": 119.171}}); code != 201 {
			t.Fatalf("member: %d %v", code, out)
		}
	}
	// The members made on nodes 0 and 2 reach node 1's directory through
	// Redis a moment later: wait until node 1 sees all of them.
	area := map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 2000}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, pv := nodes[1].call("POST", "/api/v1/alerts/preview", admin, map[string]any{"kind": "warning",
			"severity": "extreme", "title": "t", "area": area})
		if pv["targeted"] == float64(n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 1 never saw the %d members made on the others: preview %v", n, pv)
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, out := nodes[1].call("POST", "/api/v1/alerts", admin, map[string]any{"kind": "warning", "severity": "extreme",
		"title": "水库泄洪", "body": "请远离河道", "sms_fallback_after_s": 0,
		"area": map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 2000}}})
	if code != 201 || out["targeted"].(float64) != n {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	deadline = time.Now().Add(40 * time.Second)
	for len(fake.Messages()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d SMS", len(fake.Messages()), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	msgs := fake.Messages()
	count := map[string]int{}
	var times []time.Time
	for _, m := range msgs {
		count[m.To]++
		times = append(times, m.Created)
	}
	for to, c := range count {
		if c != 1 {
			t.Fatalf("%s got %d SMS, want 1", to, c)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := range times {
		j := i
		for j < len(times) && times[j].Sub(times[i]) < time.Second {
			j++
		}
		if j-i > 7 { // the rate, plus one at the window's edge
			t.Fatalf("%d SMS within one second from #%d: the cluster exceeded -sms-rate 6", j-i, i)
		}
	}
	// Which nodes sent them: more than one, or the test proves nothing
	// about the cluster's shared rate.
	db, err := pgx.Connect(t.Context(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(t.Context())
	rows, _ := db.Query(t.Context(), `SELECT DISTINCT claimed_by FROM outbox WHERE claimed_by <> ''`)
	senders, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(senders) < 2 {
		t.Fatalf("the SMS were sent by %v only; the test needs the nodes to share the work", senders)
	}
	// Every delivery callback reached node 0 and was applied, whoever sent.
	deadline = time.Now().Add(20 * time.Second)
	for {
		_, pr := nodes[2].call("GET", "/api/v1/alerts/"+alertID, admin, nil)
		sms := pr["progress"].(map[string]any)["sms"].(map[string]any)
		if sms["delivered"].(float64) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress sms %v, want %d delivered (callbacks all went to node 0)", sms, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d SMS sent by %v from %v to %v (%v)", n, senders, times[0].Format("15:04:05.000"), times[n-1].Format("15:04:05.000"), times[n-1].Sub(times[0]))
}

// TestClusterOnRedisCluster: the nodes work the same on a Redis Cluster
// of three masters (sharded pub/sub), given the URL of one master.
func TestClusterOnRedisCluster(t *testing.T) {
	rc := redistest.StartCluster(t, 3)
	cl := &cluster{t: t, pgURL: pgtest.TestURL(t), redisURL: "redis://" + rc.Nodes[1].Addr(),
		prefix: "rc:", admin: "test-admin-token-0123456789abcdef"}
	for i := range 2 {
		cl.nodes = append(cl.nodes, cl.startNode(i, freeAddr(t)))
	}
	if !strings.Contains(cl.nodes[0].logs.String(), `"redis_cluster":true`) {
		t.Fatalf("node did not detect the Redis Cluster from one master's URL:\n%s", cl.nodes[0].logs)
	}
	vid := cl.nodes[0].village(cl.admin, "下宅村", "湖镇")
	var cs []*wsClient
	for i := range 6 {
		code, out := cl.nodes[0].call("POST", "/api/v1/members", cl.admin, map[string]any{"name": fmt.Sprint("村民", i),
			"phone": fmt.Sprintf("+86139100%05d", i), "role": "resident", "village_id": vid,
			"home": map[string]any{"lat": 29.03, "lng": 119.17}})
		if code != 201 {
			t.Fatalf("member: %d %v", code, out)
		}
		cs = append(cs, connectMember(t, cl.nodes[i%2].addr, out["token"].(string), fmt.Sprint("m", i), -1))
	}
	cl.waitTargeted(cl.nodes[1], 29.03, 119.17, 1000, 6)
	for i := range 4 {
		id, _ := cl.alert(cl.nodes[i%2], 29.03, 119.17, 1000)
		waitAll(t, "alert over a Redis Cluster", cs, isAlert(id), 10*time.Second)
	}
	inOrder(t, cs)
}
