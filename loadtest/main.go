// Command loadtest measures a running hub (issue 6): it simulates N
// members of a county (residents and patrols, about one patrol per 40
// residents, homes clustered around villages near 29.03N 119.17E),
// connects them over WebSocket and runs scenarios against the hub's public
// API (docs/API.md) only:
//
//	connect    connect storm: ramp to N, connections per second, hub memory per connection
//	alert      alert fan-out to an area holding K of the N, -repeat times: latency, completeness
//	ack        ack storm: every recipient answers at once; answers stored per second
//	report     report burst: -reports reports at once; reports stored per second
//	bulletin   bulletin to a village: latency, completeness
//	reconnect  everyone drops and resumes from its last seq; nothing missed or duplicated
//	all        the six above, in that order
//	county     the whole county at once: connect everyone over all -targets, one alert to everyone, every answer
//	failover   SIGKILL of the first target's hub (-hub-pid): its clients resume on the others; nothing missed
//	baseline   the machine's floor: the same clients on the simplest server
//
// Usage:
//
//	go run ./loadtest -targets http://127.0.0.1:8080 -token $ADMIN -n 5000 -scenario all -out results.json -cdf latency.svg
//	go run ./loadtest -scenario baseline -n 5000
//
// It only aims at loopback addresses, or at hosts -allow-remote names; it
// stops by itself after -duration; it spreads its clients over worker
// processes (itself, re-executed with -worker) when one process could not
// hold them all.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-worker" || os.Args[1] == "--worker") {
		os.Exit(workerProcess(os.Args[1:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// hubScenarios are the scenarios "all" runs, in order.
var hubScenarios = []string{"connect", "alert", "ack", "report", "bulletin", "reconnect"}

// config is every setting; each is a flag.
type config struct {
	targets         []*url.URL
	token           string
	n, k            int
	repeat          int
	reports         int
	scenarios       []string
	membersPath     string
	out, cdf        string
	compare         string
	duration        time.Duration
	wait            time.Duration
	settle          time.Duration
	dialTimeout     time.Duration
	workers         int
	perWorker       int
	inProcess       bool
	dialConc        int
	connectRate     float64
	hubPIDs         []int
	createConc      int
	baselineBytes   int
	baselineWriters int
	quiet           bool
	centrifugo      string
	// baselineBytesSet: -baseline-bytes was given; else the baseline
	// sends the size of the hub's alert frame when the alert ran first.
	baselineBytesSet bool
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", "", "comma-separated hub URLs, e.g. http://127.0.0.1:8080 (loopback only unless -allow-remote names the host); members and alerts are made on the first, connections spread over all")
	allow := fs.String("allow-remote", "", "comma-separated hosts (or host:port) outside loopback that -targets may name")
	fs.StringVar(&c.token, "token", "", "admin or commander token of the hub (needed to create members and send alerts)")
	fs.IntVar(&c.n, "n", 1000, "members to simulate (and connect)")
	fs.IntVar(&c.k, "k", 0, "members inside the alert area (0: half of -n)")
	fs.IntVar(&c.repeat, "repeat", 1, "how many times the alert (and the baseline message) is sent")
	fs.IntVar(&c.reports, "reports", 1000, "reports in the report burst")
	scen := fs.String("scenario", "all", "comma-separated: connect, alert, ack, report, bulletin, reconnect, all, county (connect+alert+ack to everyone), failover (SIGKILL the first target's -hub-pid; always last), baseline, peer (connect+alert to everyone, then the same clients and payload on Centrifugo, then baseline: ratios)")
	fs.StringVar(&c.membersPath, "members", "", "file of created members (with tokens): used when it exists, written when members are created")
	fs.StringVar(&c.out, "out", "", "write the results as JSON to this file")
	fs.StringVar(&c.cdf, "cdf", "", "draw the delivery latency CDF as SVG to this file")
	fs.StringVar(&c.compare, "compare", "", "a results file of an earlier baseline run: state the hub's figures as ratios to that floor")
	fs.DurationVar(&c.duration, "duration", 2*time.Minute, "cap on the whole run; it stops by itself when reached")
	fs.DurationVar(&c.wait, "wait", 30*time.Second, "longest wait for one event to reach every client")
	fs.DurationVar(&c.settle, "settle", 200*time.Millisecond, "extra wait after an event reached everyone, so late duplicates show")
	fs.DurationVar(&c.dialTimeout, "dial-timeout", 15*time.Second, "bound on one client's dial, welcome and resume")
	fs.IntVar(&c.workers, "workers", 0, "worker processes (0: as many as -per-worker needs)")
	fs.IntVar(&c.perWorker, "per-worker", 15000, "most connections per worker process (each process may hold at most 20,000 open files)")
	fs.BoolVar(&c.inProcess, "inprocess", false, "run the workers as goroutines of this process instead of child processes (for small runs and debugging)")
	fs.IntVar(&c.dialConc, "dial-concurrency", 200, "dials in flight at once, per worker")
	fs.Float64Var(&c.connectRate, "connect-rate", 0, "connections per second to ramp at (0: as fast as possible)")
	pids := fs.String("hub-pid", "", "comma-separated hub process ids, one per target: read memory and CPU from /proc (same machine)")
	fs.IntVar(&c.createConc, "create-concurrency", 16, "member creations in flight at once")
	fs.IntVar(&c.baselineBytes, "baseline-bytes", 300, "size of the baseline message (default: the hub alert frame's size when the alert ran earlier in the run, else 300)")
	fs.IntVar(&c.baselineWriters, "baseline-writers", runtime.NumCPU(), "write loops of the baseline server, each over its share of the connections (1: a single loop)")
	fs.BoolVar(&c.quiet, "q", false, "no progress lines")
	fs.StringVar(&c.centrifugo, "centrifugo", "", "the Centrifugo binary of -scenario peer (default: centrifugo on PATH or in the Go bin folder)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "baseline-bytes" {
			c.baselineBytesSet = true
		}
	})
	county, failover, peer := false, false, false
	for s := range strings.SplitSeq(*scen, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "all":
			for _, h := range hubScenarios {
				if !slices.Contains(c.scenarios, h) {
					c.scenarios = append(c.scenarios, h)
				}
			}
		case s == "county":
			// The whole county at once: everyone connected (spread over
			// the -targets), one alert to everyone (-k defaults to -n),
			// and everyone's answer.
			county = true
			for _, h := range []string{"connect", "alert", "ack"} {
				if !slices.Contains(c.scenarios, h) {
					c.scenarios = append(c.scenarios, h)
				}
			}
		case s == "peer":
			// The hub against Centrifugo in one run: everyone connected,
			// one alert to everyone (-k defaults to -n) -repeat times, the
			// same clients and payload on Centrifugo, then the floor.
			peer = true
			for _, h := range []string{"connect", "alert", "peer", "baseline"} {
				if !slices.Contains(c.scenarios, h) {
					c.scenarios = append(c.scenarios, h)
				}
			}
		case s == "failover":
			// Runs last: it kills a node. Everyone gets its alerts
			// (-k defaults to -n).
			failover = true
		case s == "baseline" || slices.Contains(hubScenarios, s):
			if !slices.Contains(c.scenarios, s) {
				c.scenarios = append(c.scenarios, s)
			}
		case s == "":
		default:
			return nil, fmt.Errorf("-scenario: unknown %q (connect, alert, ack, report, bulletin, reconnect, all, county, failover, baseline, peer)", s)
		}
	}
	if failover {
		c.scenarios = append(c.scenarios, "failover")
	}
	if (county || failover || peer) && c.k == 0 {
		c.k = c.n
	}
	if len(c.scenarios) == 0 {
		return nil, errors.New("-scenario: name at least one")
	}
	switch {
	case c.n < 1:
		return nil, errors.New("-n must be at least 1")
	case c.k < 0 || c.k > c.n:
		return nil, errors.New("-k must be between 1 and -n")
	case c.repeat < 1 || c.repeat > 1000:
		return nil, errors.New("-repeat must be between 1 and 1000")
	case c.reports < 0 || c.reports > 1000000:
		return nil, errors.New("-reports must be between 0 and 1,000,000")
	case c.duration <= 0 || c.duration > 24*time.Hour:
		return nil, errors.New("-duration must be positive and at most 24h")
	case c.perWorker < 1 || c.dialConc < 1 || c.createConc < 1:
		return nil, errors.New("-per-worker, -dial-concurrency and -create-concurrency must be at least 1")
	case c.baselineBytes < 100 || c.baselineBytes > 60000:
		return nil, errors.New("-baseline-bytes must be between 100 and 60000")
	case c.baselineWriters < 1 || c.baselineWriters > 1024:
		return nil, errors.New("-baseline-writers must be between 1 and 1024")
	}
	if c.k == 0 {
		c.k = max(1, c.n/2)
	}
	if c.needsHub() {
		t, err := parseTargets(*targets, *allow)
		if err != nil {
			return nil, err
		}
		c.targets = t
		if c.token == "" {
			return nil, errors.New("-token is required: an admin or commander token of the hub")
		}
	}
	for p := range strings.SplitSeq(*pids, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("-hub-pid: %q is not a process id", p)
		}
		c.hubPIDs = append(c.hubPIDs, v)
	}
	if failover {
		switch {
		case len(c.targets) < 2:
			return nil, errors.New("-scenario failover needs at least 2 -targets (nodes of one deployment): it kills the first and its clients fail over to the others")
		case len(c.hubPIDs) != len(c.targets):
			return nil, fmt.Errorf("-scenario failover needs -hub-pid with one process id per target (%d targets, %d pids): it kills the first target's process with SIGKILL", len(c.targets), len(c.hubPIDs))
		}
	}
	return c, nil
}

func (c *config) needsHub() bool {
	return slices.ContainsFunc(c.scenarios, func(s string) bool { return s != "baseline" })
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// openFilesLimit is this process's hard limit on open files.
func openFilesLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Max
}

// run is the whole tool: it returns the exit code (0 all good, 1 the run
// found errors or incomplete deliveries, 2 bad usage).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// Progress, notes and the workers' stderr all write here.
	stderr = &lockedWriter{w: stderr}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	res := &results{
		Tool: "longyou hub loadtest", StartedAt: time.Now().UTC(), Scenarios: cfg.scenarios,
		N: cfg.n, InProcess: cfg.inProcess,
		Machine: machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, OpenFiles: openFilesLimit()},
	}
	for _, t := range cfg.targets {
		res.Targets = append(res.Targets, t.String())
	}
	r := &runner{cfg: cfg, log: stderr, res: res, targets: cfg.targets}
	r.prog = newProgress(stderr, r.errs.total)
	pctx, stopProgress := context.WithCancel(ctx)
	if !cfg.quiet {
		go r.prog.run(pctx)
	}
	err = r.execute(ctx)
	stopProgress()
	if err != nil {
		if ctx.Err() != nil {
			res.Aborted = fmt.Sprintf("stopped before the end: %v (the -duration cap is %s)", context.Cause(ctx), cfg.duration)
		} else {
			r.problem("%v", err)
		}
	}
	r.cleanup()
	fctx, fcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer fcancel()
	if r.fleet != nil {
		res.ClientFailovers = r.clientFailovers(fctx)
		res.Errors = r.allErrors(fctx)
		r.fleet.stop()
	} else {
		res.Errors = r.errs.snapshot()
	}
	if r.api != nil {
		r.api.close()
	}
	for _, v := range res.Errors {
		res.ErrorsTotal += v
	}
	if res.Errors == nil {
		res.Errors = map[string]int64{}
	}
	r.ratios()
	r.peerRatios()
	res.FinishedAt = time.Now().UTC()
	res.Seconds = round3(res.FinishedAt.Sub(res.StartedAt).Seconds())
	res.OK = res.Aborted == "" && len(res.Problems) == 0 && res.ErrorsTotal == 0
	writeSummary(stdout, res)
	code := 0
	if !res.OK {
		code = 1
	}
	if cfg.out != "" {
		if err := writeJSON(cfg.out, res); err != nil {
			fmt.Fprintln(stderr, "loadtest: write results:", err)
			code = 1
		}
	}
	if cfg.cdf != "" {
		if err := r.drawCDF(cfg.cdf); err != nil {
			fmt.Fprintln(stderr, "loadtest: draw CDF:", err)
			code = 1
		}
	}
	return code
}

// execute prepares the members and workers, then runs each scenario.
func (r *runner) execute(ctx context.Context) error {
	cfg := r.cfg
	if cfg.needsHub() {
		if err := r.prepareHub(ctx); err != nil {
			return err
		}
	}
	per := cfg.perWorker
	if lim := openFilesLimit(); lim > 0 && uint64(per) > lim-500 {
		per = int(lim - 500)
		r.note("-per-worker lowered to %d: each process here may hold at most %d open files", per, lim)
	}
	workers := cfg.workers
	if workers <= 0 {
		workers = (cfg.n + per - 1) / per
	}
	if (cfg.n+workers-1)/workers > per {
		r.note("%d workers for %d members is more than %d connections per worker: some will fail on the open-files limit", workers, cfg.n, per)
	}
	if cfg.inProcess && cfg.n > per {
		r.note("-inprocess keeps every connection in this one process: more than %d will fail on the open-files limit", per)
	}
	r.res.Workers = workers
	f, err := startFleet(ctx, workers, cfg.inProcess, cfg.duration, cfg.dialTimeout, r.log)
	if err != nil {
		return err
	}
	r.fleet = f
	r.prog.setFleet(f)
	for _, s := range cfg.scenarios {
		var err error
		switch s {
		case "connect":
			if r.connected {
				continue // already connected by an earlier scenario
			}
			err = r.runConnect(ctx)
		case "alert":
			err = r.runAlert(ctx)
		case "ack":
			err = r.runAck(ctx)
		case "report":
			err = r.runReport(ctx)
		case "bulletin":
			err = r.runBulletin(ctx)
		case "reconnect":
			err = r.runReconnect(ctx)
		case "failover":
			err = r.runFailover(ctx)
		case "peer":
			if r.res.HubAfter == nil {
				r.res.HubAfter = r.sampleHubs(ctx)
			}
			err = r.runPeer(ctx)
		case "baseline":
			if r.res.HubAfter == nil && cfg.needsHub() {
				r.res.HubAfter = r.sampleHubs(ctx)
			}
			err = r.runBaseline(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			r.problem("%s: %v", s, err)
		}
	}
	if cfg.needsHub() && r.res.HubAfter == nil {
		r.res.HubAfter = r.sampleHubs(ctx)
	}
	return nil
}

// prepareHub checks the targets, reads their state and makes (or loads)
// the members.
func (r *runner) prepareHub(ctx context.Context) error {
	cfg := r.cfg
	for _, t := range cfg.targets {
		a := newAPIClient(t.String(), cfg.token)
		r.apis = append(r.apis, a)
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := a.getPlain(hctx, "/healthz")
		cancel()
		if err != nil {
			return fmt.Errorf("hub %s is not answering /healthz: %w", t, err)
		}
	}
	r.api = newAPIClient(cfg.targets[0].String(), cfg.token)
	if len(cfg.targets) > 1 {
		r.note("%d targets: members and alerts are made on %s and connections spread over all; the targets must be nodes of one deployment (one store, one broker) for deliveries to be complete", len(cfg.targets), cfg.targets[0].Host)
	}
	if n, err := r.api.activeAlerts(ctx); err != nil {
		r.countAPI(err)
		var ae *apiError
		if errors.As(err, &ae) && (ae.Status == 401 || ae.Status == 403) {
			return fmt.Errorf("the hub refused -token (%d %s): it must be an admin or commander token", ae.Status, ae.Code)
		}
		return err
	} else if n > 0 {
		r.note("%d alerts were active before the run; members they cover get them again on every connect", n)
	}
	r.res.HubBefore = r.sampleHubs(ctx)
	started := time.Now()
	set, created, err := ensureMembers(ctx, r.api, cfg.membersPath, cfg.n, cfg.createConc, &r.errs, r.prog)
	if set == nil {
		return err
	}
	r.set = set
	info := &membersInfo{Villages: len(set.Villages), File: cfg.membersPath}
	if created > 0 {
		info.Created = created
		info.CreateSeconds = since(started)
		if info.CreateSeconds > 0 {
			info.CreateRate = round1(float64(created) / info.CreateSeconds)
		}
	}
	r.res.Members = info
	if err != nil {
		return fmt.Errorf("create members: %w", err)
	}
	if cfg.membersPath != "" && created == 0 {
		r.note("members reused from %s (made on %s at %s)", cfg.membersPath, set.Target, set.CreatedAt.Format(time.RFC3339))
	}
	r.members = set.Members[:cfg.n]
	r.idxByID = make(map[string]int, len(r.members))
	for i, m := range r.members {
		r.idxByID[m.ID] = i
		if m.Role == "patrol" {
			info.Patrols++
		} else {
			info.Residents++
		}
	}
	info.Total = len(r.members)
	r.res.K = cfg.k
	return nil
}
