package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// hubdBin is built once for the tests that run the real process.
var hubdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hubd-test")
	if err != nil {
		panic(err)
	}
	hubdBin = filepath.Join(dir, "hubd")
	out, err := exec.Command("go", "build", "-race", "-o", hubdBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build hubd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	logs *syncBuffer
}

// syncBuffer is the process output, written by exec's copier goroutine and
// read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs hubd and waits until /healthz answers.
func start(t *testing.T, addr string, args ...string) *proc {
	t.Helper()
	return startEnv(t, addr, nil, args...)
}

func startEnv(t *testing.T, addr string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, addr: addr, logs: &syncBuffer{}}
	p.cmd = exec.Command(hubdBin, append([]string{"-addr", addr}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.Env = append(append(os.Environ(), "HUB_POSTGRES_URL=", "HUB_REDIS_URL="), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("hubd output:\n%s", p.logs)
		}
	})
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if i > 300 {
			t.Fatalf("hubd did not come up: %v\n%s", err, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) call(method, path, token string, body any) (int, map[string]any) {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, "http://"+p.addr+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// village creates a village near 29.03N 119.17E and returns its id.
func (p *proc) village(token, name, township string) any {
	p.t.Helper()
	code, out := p.call("POST", "/api/v1/villages", token, map[string]any{"name": name, "township": township, "center": map[string]any{"lat": 29.03, "lng": 119.17}})
	if code != 201 {
		p.t.Fatalf("village: %d %v", code, out)
	}
	return out["village"].(map[string]any)["id"]
}

func dialWS(t *testing.T, addr, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws?token="+token, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func readFrame(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %s: %v", data, err)
	}
	return m
}

// TestAlertSurvivesKill9: an alert that got its 201 is there after the
// process is killed with SIGKILL, and a member connecting to the restarted
// hub receives it.
func TestAlertSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	const admin = "test-admin-token-0123456789abcdef"
	p := start(t, addr, "-data", dir, "-admin-token", admin)

	vid := p.village(admin, "下宅村", "湖镇")
	code, out := p.call("POST", "/api/v1/members", admin, map[string]any{"name": "王大伯", "phone": "+8613800000001", "role": "resident", "village_id": vid, "home": map[string]any{"lat": 29.031, "lng": 119.171}})
	if code != 201 {
		t.Fatalf("member: %d %v", code, out)
	}
	resTok := out["token"].(string)
	code, out = p.call("POST", "/api/v1/alerts", admin, map[string]any{"kind": "warning", "severity": "extreme", "title": "溃坝风险", "body": "立即撤离",
		"area": map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 2000}}})
	if code != 201 || out["targeted"].(float64) != 1 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	seq := out["alert"].(map[string]any)["seq"].(float64)

	// kill -9 the moment after the 201.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	p2 := start(t, addr, "-data", dir, "-admin-token", admin)
	code, out = p2.call("GET", "/api/v1/alerts/"+alertID, admin, nil)
	if code != 200 || out["alert"].(map[string]any)["status"] != "active" {
		t.Fatalf("alert after restart: %d %v", code, out)
	}
	c := dialWS(t, addr, resTok)
	defer c.CloseNow()
	if f := readFrame(t, c); f["type"] != "welcome" || f["seq"].(float64) < seq {
		t.Fatalf("welcome: %v", f)
	}
	f := readFrame(t, c)
	if f["type"] != "alert" || f["seq"].(float64) != seq || f["alert"].(map[string]any)["id"] != alertID {
		t.Fatalf("after restart the member got %v, want the alert", f)
	}
}

// TestBigAlertSurvivesKill9: an alert to enough members that the store
// writes its delivery and SMS rows after the 201 (storage/sqlite's deferred
// targets) loses none of them to a kill -9 the moment after the 201: after
// the restart every member is targeted and every SMS is queued. (The crash
// between the two transactions is forced in storage/sqlite's
// TestDeferredCrashRecovery; here the kill lands wherever it lands.)
func TestBigAlertSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	const admin = "test-admin-token-0123456789abcdef"
	p := start(t, addr, "-data", dir, "-admin-token", admin)
	vid := p.village(admin, "下宅村", "湖镇")
	const n = 700
	var code int
	var out map[string]any
	for i := range n {
		code, out = p.call("POST", "/api/v1/members", admin, map[string]any{"name": fmt.Sprintf("村民%d", i),
			"phone": fmt.Sprintf("+86138%08d", i), "role": "resident", "village_id": vid,
			"home": map[string]any{"lat": 29.03 + float64(i%30)*0.0001, "lng": 119.17 + float64(i/30)*0.0001}})
		if code != 201 {
			t.Fatalf("member %d: %d %v", i, code, out)
		}
	}
	code, out = p.call("POST", "/api/v1/alerts", admin, map[string]any{"kind": "warning", "severity": "extreme", "title": "溃坝风险", "body": "立即撤离",
		"area": map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 2000}}, "sms_fallback_after_s": 600})
	if code != 201 || out["targeted"].(float64) != n {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	p2 := start(t, addr, "-data", dir, "-admin-token", admin)
	code, out = p2.call("GET", "/api/v1/alerts/"+alertID, admin, nil)
	if code != 200 {
		t.Fatalf("alert after restart: %d %v", code, out)
	}
	prog := out["progress"].(map[string]any)
	sms := prog["sms"].(map[string]any)
	// Nobody was connected: every member's SMS is due at once; some may
	// have been sent (to the log) before the kill or since the restart.
	queued := sms["queued"].(float64) + sms["sent"].(float64) + sms["delivered"].(float64)
	if prog["targeted"].(float64) != n || queued != n {
		t.Fatalf("progress after restart = %v, want %d targeted and %d SMS", prog, n, n)
	}
}

// TestSIGTERMClosesWith1001AndExits0: graceful shutdown per docs/API.md.
func TestSIGTERMClosesWith1001AndExits0(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	const admin = "test-admin-token-0123456789abcdef"
	p := start(t, addr, "-data", dir, "-admin-token", admin)
	c := dialWS(t, addr, admin)
	defer c.CloseNow()
	readFrame(t, c) // welcome
	began := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("WebSocket closed with %v, want 1001", err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("hubd exited with %v, want 0\n%s", err, p.logs)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("shutdown took %v, more than 10 s", d)
	}
}

// TestDemoSeeds: -demo makes the demo county and prints working tokens.
func TestDemoSeeds(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	p := start(t, addr, "-data", dir, "-demo")
	var ctok, rtok string
	for _, line := range strings.Split(p.logs.String(), "\n") {
		f := strings.Fields(line)
		for i := range f {
			if f[i] == "token:" && i+1 < len(f) {
				switch {
				case strings.Contains(line, "commander"):
					ctok = f[i+1]
				case strings.Contains(line, "resident"):
					rtok = f[i+1]
				}
			}
		}
	}
	if ctok == "" || rtok == "" {
		t.Fatalf("tokens not printed:\n%s", p.logs)
	}
	code, out := p.call("GET", "/api/v1/villages", ctok, nil)
	vs, _ := out["villages"].([]any)
	if code != 200 || len(vs) < 20 {
		t.Fatalf("villages: %d %d", code, len(vs))
	}
	for _, v := range vs {
		if v.(map[string]any)["demo"] != true || !strings.Contains(v.(map[string]any)["name"].(string), "演示") {
			t.Fatalf("demo village not marked: %v", v)
		}
	}
	// A 3 km circle around the first village reaches hundreds of homes.
	c := vs[0].(map[string]any)["center"].(map[string]any)
	code, out = p.call("POST", "/api/v1/alerts/preview", ctok, map[string]any{"kind": "warning", "severity": "minor", "title": "t",
		"area": map[string]any{"reach": map[string]any{"lat": c["lat"], "lng": c["lng"], "minutes": 15, "mode": "walk"}}})
	if code != 200 || out["targeted"].(float64) < 50 {
		t.Fatalf("preview around a demo village: %d %v", code, out)
	}
	if code, _ := p.call("GET", "/api/v1/bulletins", rtok, nil); code != 200 {
		t.Fatalf("resident token does not work: %d", code)
	}
}
