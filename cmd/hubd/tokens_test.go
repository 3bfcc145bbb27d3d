package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// stop ends hubd with SIGTERM and waits for it.
func (p *proc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("hubd exited with %v\n%s", err, p.logs)
	}
}

// runFails runs hubd expecting it to refuse to start: it returns the exit
// code and the output.
func runFails(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hubdBin, append([]string{"-addr", freeAddr(t)}, args...)...)
	cmd.Env = append(os.Environ(), "HUB_POSTGRES_URL=", "HUB_REDIS_URL=", "HUB_ADMIN_TOKEN=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("hubd %v: %v, want it to refuse to start\n%s", args, err, out)
	}
	return ee.ExitCode(), string(out)
}

// TestParseStaffTokenTTL: -staff-token-ttl takes Go durations and days; 0
// is forever; the default is 90 days.
func TestParseStaffTokenTTL(t *testing.T) {
	t.Parallel()
	env := func(string) string { return "" }
	for arg, want := range map[string]time.Duration{"": 90 * 24 * time.Hour, "90d": 90 * 24 * time.Hour,
		"36h": 36 * time.Hour, "0": -1, "0d": -1} {
		args := []string{}
		if arg != "" {
			args = []string{"-staff-token-ttl", arg}
		}
		c, err := parseConfig(args, env)
		if err != nil || c.staffTokenTTL != want {
			t.Errorf("-staff-token-ttl %q: %v, %v; want %v", arg, c, err, want)
		}
	}
	for _, bad := range []string{"-1h", "x", "10s", "-3d"} {
		if _, err := parseConfig([]string{"-staff-token-ttl", bad}, env); err == nil {
			t.Errorf("-staff-token-ttl %q accepted", bad)
		}
	}
}

// TestShortAdminTokenRefused: hubd refuses to start with an -admin-token
// (or HUB_ADMIN_TOKEN) shorter than 32 characters, and says why.
func TestShortAdminTokenRefused(t *testing.T) {
	t.Parallel()
	code, out := runFails(t, "-data", t.TempDir(), "-admin-token", "a")
	if code != 2 || !strings.Contains(out, "at least 32 characters") {
		t.Fatalf("hubd -admin-token a: exit %d, output:\n%s", code, out)
	}
	if _, err := parseConfig(nil, func(k string) string {
		if k == "HUB_ADMIN_TOKEN" {
			return "0123456789abcdef0123456789abcde" // 31
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "32") {
		t.Fatalf("HUB_ADMIN_TOKEN of 31 characters: %v, want refused", err)
	}
}

// TestAdminTokenReplacesThePrevious: restarting with a new -admin-token
// revokes the old one (refused with 401) instead of adding a second
// admin token; the old one given again is refused at start.
func TestAdminTokenReplacesThePrevious(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	const a = "first-admin-token-0123456789abcdef"
	const b = "second-admin-token-0123456789abcdef"
	p := start(t, addr, "-data", dir, "-admin-token", a)
	if code, out := p.call("GET", "/api/v1/me/token", a, nil); code != 200 || out["token_info"].(map[string]any)["kind"] != "bootstrap" {
		t.Fatalf("the admin token: %d %v", code, out)
	}
	p.stop()

	p = start(t, addr, "-data", dir, "-admin-token", b)
	code, out := p.call("GET", "/api/v1/me", a, nil)
	msg, _ := out["error"].(map[string]any)["message"].(string)
	if code != 401 || !strings.Contains(msg, "revoked") {
		t.Fatalf("the old admin token after the new one: %d %v, want 401 revoked", code, out)
	}
	if code, _ := p.call("GET", "/api/v1/me", b, nil); code != 200 {
		t.Fatalf("the new admin token: %d", code)
	}
	code, out = p.call("GET", "/api/v1/tokens?active=1", b, nil)
	n := 0
	for _, x := range out["tokens"].([]any) {
		if x.(map[string]any)["kind"] == "bootstrap" {
			n++
		}
	}
	if code != 200 || n != 1 {
		t.Fatalf("active bootstrap tokens: %d (%d %v), want 1", n, code, out)
	}
	p.stop()

	code2, logs := runFails(t, "-data", dir, "-admin-token", a)
	if code2 != 1 || !strings.Contains(logs, "revoked") {
		t.Fatalf("restart with the revoked admin token: exit %d, output:\n%s", code2, logs)
	}
}

// demoTokensOf reads the commander's and resident's tokens that -demo
// printed.
func demoTokensOf(t *testing.T, logs string) (ctok, rtok string) {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
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
		t.Fatalf("demo tokens not printed:\n%s", logs)
	}
	return ctok, rtok
}

// activeTokens counts the active tokens (GET /api/v1/tokens?active=1,
// every page) and those of kind demo.
func (p *proc) activeTokens(admin string) (all, demo int) {
	p.t.Helper()
	after := ""
	for {
		code, out := p.call("GET", "/api/v1/tokens?active=1&limit=1000&after="+after, admin, nil)
		if code != 200 {
			p.t.Fatalf("list tokens: %d %v", code, out)
		}
		for _, x := range out["tokens"].([]any) {
			all++
			if x.(map[string]any)["kind"] == "demo" {
				demo++
			}
		}
		next, _ := out["next"].(string)
		if next == "" {
			return all, demo
		}
		after = next
	}
}

// TestDemoKeepsItsTokens: -demo started twice prints the same commander
// and resident tokens and adds none (the active token count stays); they
// are kept in a file only the hub's user may read. A file others may read
// is taken as leaked: new tokens, the old ones revoked.
func TestDemoKeepsItsTokens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	const admin = "test-admin-token-0123456789abcdef"
	p := start(t, addr, "-data", dir, "-demo", "-admin-token", admin)
	ctok, rtok := demoTokensOf(t, p.logs.String())
	all, demo := p.activeTokens(admin)
	if demo != 2 {
		t.Fatalf("%d active demo tokens, want 2", demo)
	}
	path := filepath.Join(dir, "demo-tokens.json")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the demo token file: %v, %v; want mode 0600", fi, err)
	}
	p.stop()

	p = start(t, addr, "-data", dir, "-demo", "-admin-token", admin)
	c2, r2 := demoTokensOf(t, p.logs.String())
	if c2 != ctok || r2 != rtok {
		t.Fatalf("the second start printed other tokens: %s %s, want %s %s", c2, r2, ctok, rtok)
	}
	if all2, demo2 := p.activeTokens(admin); all2 != all || demo2 != 2 {
		t.Fatalf("active tokens after the second start: %d (%d demo), want %d (2 demo)", all2, demo2, all)
	}
	if code, _ := p.call("GET", "/api/v1/villages", ctok, nil); code != 200 {
		t.Fatalf("the demo commander's token: %d", code)
	}
	p.stop()

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	p = start(t, addr, "-data", dir, "-demo", "-admin-token", admin)
	c3, r3 := demoTokensOf(t, p.logs.String())
	if c3 == ctok || r3 == rtok {
		t.Fatalf("a demo token file others may read was trusted")
	}
	if code, _ := p.call("GET", "/api/v1/me", ctok, nil); code != 401 {
		t.Fatalf("the replaced demo commander token: %d, want 401", code)
	}
	if all3, demo3 := p.activeTokens(admin); all3 != all || demo3 != 2 {
		t.Fatalf("active tokens after the replacement: %d (%d demo), want %d (2 demo)", all3, demo3, all)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the rewritten demo token file: %v, %v; want mode 0600", fi, err)
	}
}

// TestClusterRevokedTokenClosedOnEveryNode: a token revoked through one
// node is refused by another at once, and that node closes the token's
// open WebSocket (1008 "token revoked") within seconds.
func TestClusterRevokedTokenClosedOnEveryNode(t *testing.T) {
	cl := startCluster(t, 2)
	n0, n1 := cl.nodes[0], cl.nodes[1]
	vid := n0.village(cl.admin, "下宅村", "湖镇")
	code, out := n0.call("POST", "/api/v1/members", cl.admin, map[string]any{"name": "王大伯", "phone": "+8613800000001",
		"role": "resident", "village_id": vid, "home": map[string]any{"lat": 29.031, "lng": 119.171}})
	if code != 201 {
		t.Fatalf("member: %d %v", code, out)
	}
	tok := out["token"].(string)
	c := dialWS(t, n1.addr, tok)
	defer c.CloseNow()
	if f := readFrame(t, c); f["type"] != "welcome" {
		t.Fatalf("first frame %v", f)
	}
	_, out = n1.call("GET", "/api/v1/me/token", tok, nil)
	id := out["token_info"].(map[string]any)["id"].(string)

	if code, out := n0.call("DELETE", "/api/v1/tokens/"+id, cl.admin, nil); code != 200 {
		t.Fatalf("revoke on node 0: %d %v", code, out)
	}
	if code, _ := n1.call("GET", "/api/v1/me", tok, nil); code != 401 {
		t.Fatalf("the revoked token on node 1: %d, want 401", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = c.Read(ctx)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "token revoked" {
		t.Fatalf("node 1's WebSocket ended with %v, want 1008 token revoked within 10 s", err)
	}
}
