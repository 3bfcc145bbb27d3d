package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// hubSample is what the load tester reads of one hub process at one
// moment: from its /metrics, or from /proc when -hub-pid names it.
type hubSample struct {
	At         time.Time `json:"-"`
	RSS        float64   `json:"rss_bytes"`
	CPU        float64   `json:"cpu_seconds"`
	Conns      float64   `json:"connections"`
	HeapInuse  float64   `json:"heap_inuse_bytes"`
	Goroutines float64   `json:"goroutines"`
	OpenFDs    float64   `json:"open_fds"`
	MaxFDs     float64   `json:"max_fds"`
	AcksStored float64   `json:"acks_stored"`
	// BrokerIn and BrokerMsgs: bytes and messages this node received from
	// the other nodes through Redis (hub_broker_received_bytes_total,
	// hub_broker_receives_total); zero on one node.
	BrokerIn    float64            `json:"broker_bytes_in"`
	BrokerMsgs  float64            `json:"broker_messages_in"`
	Drops       map[string]float64 `json:"drops,omitempty"`
	FromProc    bool               `json:"from_proc,omitempty"`
	MetricsSeen bool               `json:"-"`
	// Valid: something was read (metrics or /proc).
	Valid bool `json:"valid"`
}

// parseMetrics reads the Prometheus text format into series -> value,
// where a series is its name plus its labels as written.
func parseMetrics(data []byte) map[string]float64 {
	out := make(map[string]float64)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// name{labels} value [timestamp]; label values may hold spaces.
		cut := strings.LastIndexByte(line, '}')
		if cut < 0 {
			cut = strings.IndexByte(line, ' ')
			if cut < 0 {
				continue
			}
		} else {
			cut++
		}
		series := line[:cut]
		fields := strings.Fields(line[cut:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		out[series] = v
	}
	return out
}

// labelValue returns the value of label in a series like
// name{a="x",reason="y"}.
func labelValue(series, label string) string {
	i := strings.Index(series, label+`="`)
	if i < 0 {
		return ""
	}
	rest := series[i+len(label)+2:]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// sampleHub reads one hub's metrics, and its /proc entry when pid > 0.
func sampleHub(ctx context.Context, a *apiClient, pid int) (hubSample, error) {
	s := hubSample{At: time.Now(), Drops: map[string]float64{}}
	var merr error
	if data, err := a.getPlain(ctx, "/metrics"); err != nil {
		merr = fmt.Errorf("read %s/metrics: %w", a.base, err)
	} else {
		m := parseMetrics(data)
		s.MetricsSeen, s.Valid = true, true
		s.RSS = m["process_resident_memory_bytes"]
		s.CPU = m["process_cpu_seconds_total"]
		s.Conns = m["hub_connections"]
		s.HeapInuse = m["go_memstats_heap_inuse_bytes"]
		s.Goroutines = m["go_goroutines"]
		s.OpenFDs = m["process_open_fds"]
		s.MaxFDs = m["process_max_fds"]
		s.AcksStored = m["hub_acks_stored_total"]
		for k, v := range m {
			if strings.HasPrefix(k, "hub_broker_received_bytes_total{") {
				s.BrokerIn += v
			}
			if strings.HasPrefix(k, "hub_broker_receives_total{") {
				s.BrokerMsgs += v
			}
			if strings.HasPrefix(k, "hub_drops_total{") {
				s.Drops[labelValue(k, "reason")] += v
			}
		}
	}
	if pid > 0 {
		rss, cpu, fds, err := readProc(pid)
		if err != nil {
			return s, err
		}
		s.RSS, s.CPU, s.OpenFDs, s.FromProc, s.Valid = rss, cpu, fds, true, true
		return s, nil
	}
	return s, merr
}

// readProc reads a process's resident memory (VmRSS), CPU time
// (utime+stime at the usual 100 ticks a second) and open files.
func readProc(pid int) (rss, cpu, fds float64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("-hub-pid %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				rss = kb * 1024
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("-hub-pid %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; fields count from ')'.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		f := strings.Fields(s[i+1:])
		if len(f) > 12 {
			ut, _ := strconv.ParseFloat(f[11], 64)
			st, _ := strconv.ParseFloat(f[12], 64)
			cpu = (ut + st) / 100
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		fds = float64(len(ents))
	}
	return rss, cpu, fds, nil
}

// hubDelta is how a hub changed over a scenario.
type hubDelta struct {
	CPUSeconds float64            `json:"cpu_seconds"`
	CPUCores   float64            `json:"cpu_cores"` // average cores busy over the scenario
	RSSAfter   float64            `json:"rss_bytes_after"`
	Drops      map[string]float64 `json:"drops,omitempty"`
	// Nodes: the same per node, when there are several.
	Nodes []nodeDelta `json:"nodes,omitempty"`
}

// nodeDelta is one node's share of a scenario.
type nodeDelta struct {
	Node       int     `json:"node"` // index in -targets (a killed node is left out)
	CPUSeconds float64 `json:"cpu_seconds"`
	RSSAfter   float64 `json:"rss_bytes_after"`
	Conns      float64 `json:"connections"`
	BrokerIn   float64 `json:"broker_bytes_in"`
	BrokerMsgs float64 `json:"broker_messages_in"`
}

func diffHub(before, after []hubSample) hubDelta {
	d := hubDelta{Drops: map[string]float64{}}
	var wall float64
	for i := range after {
		if i >= len(before) {
			break
		}
		if !before[i].Valid || !after[i].Valid {
			continue
		}
		d.CPUSeconds += after[i].CPU - before[i].CPU
		d.RSSAfter += after[i].RSS
		if len(after) > 1 {
			d.Nodes = append(d.Nodes, nodeDelta{Node: i, CPUSeconds: round3(after[i].CPU - before[i].CPU), RSSAfter: after[i].RSS,
				Conns: after[i].Conns, BrokerIn: after[i].BrokerIn - before[i].BrokerIn,
				BrokerMsgs: after[i].BrokerMsgs - before[i].BrokerMsgs})
		}
		wall = max(wall, after[i].At.Sub(before[i].At).Seconds())
		for k, v := range after[i].Drops {
			if n := v - before[i].Drops[k]; n > 0 {
				d.Drops[k] += n
			}
		}
	}
	d.CPUSeconds = round3(d.CPUSeconds)
	if wall > 0 {
		d.CPUCores = round3(d.CPUSeconds / wall)
	}
	if len(d.Drops) == 0 {
		d.Drops = nil
	}
	return d
}
