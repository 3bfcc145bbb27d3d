package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/longyou/hub/internal/redistest"
	"github.com/longyou/hub/storage/postgres/pgtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The smoke test runs the tool's parent in process; its worker
	// processes are this test binary re-executed with -worker.
	if len(os.Args) > 1 && os.Args[1] == "-worker" {
		os.Exit(workerProcess(os.Args[1:]))
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// startHub builds hubd and runs it on a free loopback port with a fresh
// data folder; it is stopped with SIGTERM when the test ends.
func startHub(t *testing.T, token string) string {
	t.Helper()
	base, _ := startHubd(t, token, false, "-data", filepath.Join(t.TempDir(), "data"))
	return base
}

// startHubd builds hubd and runs it with args on a free loopback port; it
// is stopped with SIGTERM when the test ends (unless the test killed it,
// when killable). It returns the base URL and the process id.
func startHubd(t *testing.T, token string, killable bool, args ...string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "hubd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hubd")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build hubd: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, append([]string{"-admin-token", token, "-addr", addr, "-log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "HUB_POSTGRES_URL=", "HUB_REDIS_URL=")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-exited:
			// Only a test that kills it may find it gone.
			if ee, ok := err.(*exec.ExitError); !killable || !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Errorf("hubd %s exited before the end of the test: %v\n%s", addr, err, logs.String())
			}
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("hubd did not exit cleanly: %v\n%s", err, logs.String())
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("hubd did not stop within 15 s of SIGTERM")
		}
	})
	base := "http://" + addr
	hc := &http.Client{Timeout: time.Second}
	defer hc.CloseIdleConnections()
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := hc.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, cmd.Process.Pid
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("hubd exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hubd not healthy after 30 s\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runTool runs the load tester's main entry in process and decodes its
// JSON results.
func runTool(t *testing.T, args ...string) (*results, int, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "results.json")
	args = append(args, "-out", out, "-q")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	logs := stdout.String() + stderr.String()
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("exit %d, no results: %v\n%s", code, err, logs)
	}
	var res results
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatalf("results: %v", err)
	}
	return &res, code, logs
}

// TestSmoke runs every scenario against a real hubd with a few hundred
// clients over two worker processes, so the tool cannot rot.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hubd")
	}
	const token = "loadtest-smoke-admin-token-0123456789"
	base := startHub(t, token)
	dir := t.TempDir()
	members := filepath.Join(dir, "members.json")
	svg := filepath.Join(dir, "latency.svg")
	const n, k = 300, 120

	res, code, logs := runTool(t, "-targets", base, "-token", token, "-n", fmt.Sprint(n), "-k", fmt.Sprint(k),
		"-reports", "200", "-repeat", "2", "-workers", "2", "-members", members, "-cdf", svg,
		"-scenario", "all,baseline", "-duration", "90s")
	if code != 0 || !res.OK {
		t.Fatalf("exit %d, ok %v, problems %q, errors %v\n%s", code, res.OK, res.Problems, res.Errors, logs)
	}
	if res.ErrorsTotal != 0 || len(res.Errors) != 0 {
		t.Errorf("errors: %v", res.Errors)
	}
	if res.Workers != 2 || res.Members == nil || res.Members.Total != n || res.Members.Created != n || res.Members.Patrols == 0 {
		t.Errorf("workers %d, members %+v", res.Workers, res.Members)
	}

	c := res.Connect
	if c == nil || c.Connected != n || c.RatePerS <= 0 || c.Dial.P50 <= 0 {
		t.Fatalf("connect: %+v", c)
	}
	if c.Memory == nil || c.Memory.ConnsAfter-c.Memory.ConnsBefore != n {
		t.Errorf("connect memory: %+v", c.Memory)
	}

	a := res.Alert
	if a == nil || !a.Complete || len(a.Sends) != 2 || a.PreviewTargeted != k || a.PreviewConnected != k {
		t.Fatalf("alert: %+v", a)
	}
	for _, s := range a.Sends {
		d := s.Delivery
		if s.Targeted != k || d.Expected != k || d.Received != k || d.Missing+d.Duplicates+d.Unexpected != 0 || !s.CancelComplete {
			t.Errorf("alert send %s: targeted %d, delivery %+v, cancel %v", s.AlertID, s.Targeted, d, s.CancelComplete)
		}
		if d.Latency.P50 <= 0 || d.LastMs < d.Latency.P99 || d.FrameBytes == 0 {
			t.Errorf("alert send %s latency: %+v", s.AlertID, d.Latency)
		}
	}
	if a.Latency.N != 2*k || a.Latency.P50 <= 0 || a.LastMs.Max <= 0 {
		t.Errorf("alert latency: %+v, last %+v", a.Latency, a.LastMs)
	}

	ack := res.Ack
	if ack == nil || ack.OK != k || ack.Answers != k || ack.HubReceived != k || ack.RatePerS <= 0 || ack.Reply.P50 <= 0 || !ack.Alert.Delivery.Complete {
		t.Errorf("ack: %+v", ack)
	}

	rep := res.Report
	if rep == nil || rep.OK != 200 || rep.RatePerS <= 0 || rep.Reply.P50 <= 0 || rep.PerMemberMax > reportBurst {
		t.Errorf("report: %+v", rep)
	}

	b := res.Bulletin
	if b == nil || !b.Delivery.Complete || b.Delivery.Received == 0 || b.Delivery.Received != b.Delivery.Expected || b.Delivery.Latency.P50 <= 0 {
		t.Errorf("bulletin: %+v", b)
	}

	rc := res.Reconnect
	if rc == nil || rc.Dropped != n || rc.Resumed != n || !rc.NothingLost || rc.RatePerS <= 0 ||
		rc.GapAlert.Received != k || !rc.GapAlert.Complete || !rc.GapBulletin.Complete || rc.GapBulletin.Received == 0 {
		t.Errorf("reconnect: %+v", rc)
	}

	fl := res.Baseline
	if fl == nil || fl.Connections != n || !fl.Complete || fl.Latency.N != 2*n || fl.Latency.P50 <= 0 || fl.LastMs.Max <= 0 {
		t.Errorf("baseline: %+v", fl)
	}
	if res.Ratios["alert_p50_over_floor"] <= 0 {
		t.Errorf("ratios: %v", res.Ratios)
	}
	if svgData, err := os.ReadFile(svg); err != nil || !bytes.Contains(svgData, []byte("<polyline")) {
		t.Errorf("CDF: %v, %d bytes", err, len(svgData))
	}

	// A second run reuses the members file (no creation) and runs its
	// workers in process.
	res2, code, logs := runTool(t, "-targets", base, "-token", token, "-n", "100", "-k", "40",
		"-members", members, "-inprocess", "-scenario", "connect,alert", "-duration", "60s")
	if code != 0 || !res2.OK {
		t.Fatalf("second run: exit %d, problems %q, errors %v\n%s", code, res2.Problems, res2.Errors, logs)
	}
	if res2.Members.Created != 0 || res2.Alert == nil || !res2.Alert.Complete || res2.Alert.Sends[0].Delivery.Received != 40 {
		t.Errorf("second run: members %+v, alert %+v", res2.Members, res2.Alert)
	}
	if !strings.Contains(logs, "members reused") {
		t.Errorf("second run does not say it reused the members:\n%s", logs)
	}
}

// TestFailoverSmoke runs the failover scenario against two real hubd
// nodes on one PostgreSQL database (pgtest: the machine's server) and one
// Redis (redistest: started on a free port): the first node is killed with
// SIGKILL, its clients resume on the second, nothing is missed.
func TestFailoverSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two hubd nodes on PostgreSQL and Redis")
	}
	const token = "loadtest-failover-admin-token-0123456789"
	pg := pgtest.TestURL(t)
	rds := redistest.Start(t)
	cluster := []string{"-postgres", pg, "-redis", rds.URL(), "-redis-prefix", "ltfail:"}
	a, pa := startHubd(t, token, true, cluster...)
	b, pb := startHubd(t, token, false, cluster...)
	const n = 200
	res, code, logs := runTool(t, "-targets", a+","+b, "-hub-pid", fmt.Sprintf("%d,%d", pa, pb), "-token", token,
		"-n", fmt.Sprint(n), "-workers", "2", "-scenario", "failover", "-duration", "60s")
	if code != 0 || !res.OK {
		t.Fatalf("exit %d, ok %v, problems %q, errors %v\n%s", code, res.OK, res.Problems, res.Errors, logs)
	}
	f := res.Failover
	if f == nil || f.OnKilled != n/2 || f.Resumed != n/2 || f.NotResumed != 0 || f.ResumedOn[strings.TrimPrefix(b, "http://")] != n/2 ||
		!f.NothingLost || f.OtherFailovers != 0 || f.ExpectedLosses != n/2 {
		t.Fatalf("failover: %+v", f)
	}
	if f.SinceKill.N != n/2 || f.SinceKill.P50 <= 0 || f.AllWithinMs > 10000 || f.SinceLoss.Max > f.AllWithinMs {
		t.Errorf("failover times: since kill %+v, since loss %+v", f.SinceKill, f.SinceLoss)
	}
	for what, d := range map[string]delivery{"before": f.Before.Delivery, "after": f.After.Delivery} {
		if !d.Complete || d.Expected != n || d.Received != n {
			t.Errorf("alert %s the kill: %+v", what, d)
		}
	}
	if !f.Before.CancelComplete || !f.After.CancelComplete || f.BeforeAlertAgain.Missing+f.BeforeAlertAgain.Duplicates != 0 {
		t.Errorf("cancels %v %v, recount %+v", f.Before.CancelComplete, f.After.CancelComplete, f.BeforeAlertAgain)
	}
	if c := res.ClientFailovers; c == nil || c.Reconnections != n/2 || c.GaveUp != 0 || c.InProgress != 0 {
		t.Errorf("client failovers: %+v", c)
	}
}
