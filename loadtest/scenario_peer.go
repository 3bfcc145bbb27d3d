package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The peer scenario runs the same clients and the same alert payload
// against Centrifugo, the general-purpose fan-out server a county would
// otherwise pick, in the same run as the hub's alert scenario, and states
// the hub's figures as ratios to it. Centrifugo is a separate binary
// (go install github.com/centrifugal/centrifugo/v6@v6.9.1), never linked
// into the hub or this tool.

// peerRes is what the peer scenario measured.
type peerRes struct {
	Server      string  `json:"server"` // centrifugo's version line
	Binary      string  `json:"binary"`
	Connections int     `json:"connections"`
	ConnectRate float64 `json:"connections_per_s"`
	// RSSBefore/After: Centrifugo's resident memory before the clients
	// connected and after; RSSPerConn the difference per connection.
	RSSBefore  float64 `json:"rss_bytes_before"`
	RSSAfter   float64 `json:"rss_bytes_after"`
	RSSPerConn float64 `json:"rss_bytes_per_conn"`
	// FrameBytes is the published payload (the hub's alert frame size).
	FrameBytes int `json:"frame_bytes"`
	// PublishMs: how long each HTTP publish call took to answer.
	PublishMs []float64  `json:"publish_ms"`
	Sends     []delivery `json:"sends"`
	// Latency over every receipt of every send, from just before the
	// publish call; LastMs the sends' last-recipient times.
	Latency    latency          `json:"latency_ms"`
	LastMs     latency          `json:"last_ms"`
	CPUSeconds float64          `json:"cpu_seconds"` // Centrifugo's CPU over the sends
	Complete   bool             `json:"complete"`
	Errors     map[string]int64 `json:"errors,omitempty"`
}

// peerServer is a Centrifugo process started for the run.
type peerServer struct {
	cmd  *exec.Cmd
	dir  string
	port int
	hc   *http.Client
	logf *os.File
}

// findCentrifugo is the -centrifugo flag, or centrifugo on PATH, or in
// the Go bin folder where go install puts it.
func findCentrifugo(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if p, err := exec.LookPath("centrifugo"); err == nil {
		return p, nil
	}
	var dirs []string
	if gb := os.Getenv("GOBIN"); gb != "" {
		dirs = append(dirs, gb)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for gp := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
			dirs = append(dirs, filepath.Join(gp, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "centrifugo")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("centrifugo not found: install it with `go install github.com/centrifugal/centrifugo/v6@v6.9.1` or name it with -centrifugo")
}

// centrifugoConfig: loopback only, anonymous clients may connect and
// subscribe (insecure client mode), the HTTP publish API without a key,
// no usage stats, no history or presence (a plain broadcast, as the
// hub's fan-out is one), a health endpoint to wait on.
func centrifugoConfig(port int) []byte {
	cfg := map[string]any{
		"http_server": map[string]any{"address": "127.0.0.1", "port": port},
		"log":         map[string]any{"level": "error"},
		"client": map[string]any{
			"insecure":                              true,
			"allow_anonymous_connect_without_token": true,
			"allowed_origins":                       []string{"*"},
		},
		"channel": map[string]any{"without_namespace": map[string]any{
			"allow_subscribe_for_anonymous": true, "allow_subscribe_for_client": true,
		}},
		"http_api":    map[string]any{"insecure": true},
		"usage_stats": map[string]any{"disabled": true},
		"health":      map[string]any{"enabled": true},
	}
	data, _ := json.MarshalIndent(cfg, "", "  ")
	return data
}

func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func startCentrifugo(ctx context.Context, bin string) (*peerServer, string, error) {
	ver, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return nil, "", fmt.Errorf("%s version: %w", bin, err)
	}
	// A go-installed binary says v0.0.0: its module version is in its
	// build information.
	if out, err := exec.CommandContext(ctx, "go", "version", "-m", bin).Output(); err == nil {
		for line := range strings.SplitSeq(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" {
				ver = []byte(f[1] + " " + f[2])
				break
			}
		}
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "loadtest-centrifugo-")
	if err != nil {
		return nil, "", err
	}
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, centrifugoConfig(port), 0o600); err != nil {
		return nil, "", err
	}
	logf, err := os.Create(filepath.Join(dir, "centrifugo.log"))
	if err != nil {
		return nil, "", err
	}
	s := &peerServer{dir: dir, port: port, logf: logf,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	s.cmd = exec.Command(bin, "--config", cfgPath)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		s.stop()
		return nil, "", err
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := s.hc.Get(s.base() + "/health")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, "", fmt.Errorf("centrifugo did not answer /health within 20 s (log: %s)", logf.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, strings.TrimSpace(string(ver)), nil
}

func (s *peerServer) base() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) }
func (s *peerServer) wsURL() string {
	return "ws://127.0.0.1:" + strconv.Itoa(s.port) + "/connection/websocket"
}

// publish sends data to every subscriber of peerChannel through the HTTP
// server API, as a backend would.
func (s *peerServer) publish(ctx context.Context, data []byte) error {
	body, _ := json.Marshal(map[string]any{"channel": peerChannel, "data": json.RawMessage(data)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base()+"/api/publish", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"error"`)) {
		return fmt.Errorf("publish: %s %s", resp.Status, out)
	}
	return nil
}

func (s *peerServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
	if s.logf != nil {
		_ = s.logf.Close()
	}
	_ = os.RemoveAll(s.dir)
}

// runPeer connects the run's clients to Centrifugo (the hub's clients
// make room first), measures its memory per connection, publishes the
// hub-shaped alert frame -repeat times and measures each delivery from
// just before the publish call, as the alert scenario measures the hub
// from just before the POST.
func (r *runner) runPeer(ctx context.Context) error {
	if r.cfg.n > hubConnLimit {
		return fmt.Errorf("peer: at most %d clients (Centrifugo runs as one process on this machine)", hubConnLimit)
	}
	bin, err := findCentrifugo(r.cfg.centrifugo)
	if err != nil {
		return err
	}
	res := &peerRes{Binary: bin, Complete: true}
	r.res.Peer = res
	fmt.Fprintln(r.log, "== peer (Centrifugo)")
	errsBefore := r.allErrors(ctx)
	defer func() { res.Errors = diffErrors(errsBefore, r.allErrors(context.WithoutCancel(ctx))) }()
	if r.connected {
		if _, err := r.fleet.each(ctx, func(*workerProc) *request { return &request{Op: opClose} }); err != nil {
			return err
		}
		r.connected = false
	}
	srv, ver, err := startCentrifugo(ctx, bin)
	if err != nil {
		return err
	}
	defer srv.stop()
	res.Server = ver
	pid := srv.cmd.Process.Pid
	time.Sleep(500 * time.Millisecond) // let its start-up allocations settle
	if rss, _, _, err := readProc(pid); err == nil {
		res.RSSBefore = rss
	}
	if res.Connections, res.ConnectRate, err = r.connectPlain(ctx, "peer", srv.wsURL(), protoCentrifugo); err != nil {
		return err
	}
	if res.Connections < r.cfg.n {
		r.problem("peer: %d of %d clients connected to Centrifugo", res.Connections, r.cfg.n)
	}
	time.Sleep(time.Second)
	if rss, _, _, err := readProc(pid); err == nil && res.Connections > 0 {
		res.RSSAfter = rss
		res.RSSPerConn = round1((rss - res.RSSBefore) / float64(res.Connections))
	}
	_, offline, _ := r.workerStats(ctx)
	expected := map[int]bool{}
	for i := range r.cfg.n {
		if !offline[i] {
			expected[i] = true
		}
	}
	size := r.cfg.baselineBytes
	if a := r.res.Alert; a != nil && len(a.Sends) > 0 && a.Sends[0].Delivery.FrameBytes > 0 {
		size = a.Sends[0].Delivery.FrameBytes // the hub's own alert frame
	}
	_, cpu0, _, _ := readProc(pid)
	var all, lasts []int64
	for i := range r.cfg.repeat {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.prog.set(fmt.Sprintf("peer %d/%d", i+1, r.cfg.repeat), 0, nil)
		id := "peer-" + strconv.Itoa(i+1)
		msg := floorMessage(i+1, id, time.Now(), size)
		t0 := time.Now()
		if err := srv.publish(ctx, msg); err != nil {
			r.errs.add("peer_publish_failed", 1)
			return err
		}
		res.PublishMs = append(res.PublishMs, ms(int64(time.Since(t0))))
		d := r.awaitDelivery(ctx, keyAlert+id, expected, t0, offline)
		r.checkDelivery("peer send "+strconv.Itoa(i+1), &d)
		res.FrameBytes = len(msg)
		res.Sends = append(res.Sends, d)
		res.Complete = res.Complete && d.Complete
		all = append(all, d.lat...)
		lasts = append(lasts, int64(d.LastMs*1e6))
		fmt.Fprintf(r.log, "centrifugo %d/%d: %s of %s got it; from before the publish p50 %s, p99 %s, last %s (publish answered %s)\n", i+1, r.cfg.repeat,
			group(int64(d.Received)), group(int64(d.Expected)), fmtMs(d.Latency.P50), fmtMs(d.Latency.P99), fmtMs(d.LastMs), fmtMs(res.PublishMs[i]))
		time.Sleep(200 * time.Millisecond) // as the hub's sends are spaced by their cancel
	}
	if _, cpu1, _, err := readProc(pid); err == nil {
		res.CPUSeconds = round3(cpu1 - cpu0)
	}
	res.Latency = summarize(all)
	res.LastMs = summarize(lasts)
	if _, err := r.fleet.each(ctx, func(*workerProc) *request { return &request{Op: opClose} }); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// peerRatios states the hub's figures over Centrifugo's from the same run:
// the median of the sends' last receipts, each counted from just before
// the hub's POST and Centrifugo's publish, and memory per connection.
func (r *runner) peerRatios() {
	p := r.res.Peer
	if p == nil || p.LastMs.N == 0 {
		return
	}
	if r.res.Ratios == nil {
		r.res.Ratios = map[string]float64{}
	}
	div := func(key string, hub, peer float64) {
		if hub > 0 && peer > 0 {
			r.res.Ratios[key] = round3(hub / peer)
		}
	}
	if a := r.res.Alert; a != nil && a.FromPostLastMs.N > 0 {
		div("alert_from_post_last_median_over_peer", a.FromPostLastMs.P50, p.LastMs.P50)
		div("alert_from_post_last_best_over_peer", a.FromPostLastMs.Min, p.LastMs.Min)
		if a.K != p.Connections {
			r.note("the hub's alert went to %d members and Centrifugo's publication to %d connections: for a like-for-like ratio use -k equal to -n", a.K, p.Connections)
		}
	}
	if c := r.res.Connect; c != nil && c.Memory != nil {
		div("rss_per_conn_over_peer", c.Memory.RSSPerConn, p.RSSPerConn)
	}
	if b := r.res.Baseline; b != nil && b.LastMs.N > 0 {
		div("peer_last_median_over_floor", p.LastMs.P50, b.LastMs.P50)
	}
}
