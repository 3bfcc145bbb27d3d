package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseTargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, list, allow string
		ok                bool
	}{
		{"loopback v4", "http://127.0.0.1:8080", "", true},
		{"loopback other", "http://127.0.0.2:8080", "", true},
		{"localhost", "http://localhost:8080", "", true},
		{"loopback v6", "http://[::1]:8080", "", true},
		{"several", "http://127.0.0.1:8080, http://127.0.0.1:8081", "", true},
		{"remote refused", "http://10.0.0.5:8080", "", false},
		{"name refused", "http://hub.example.com", "", false},
		{"one of several refused", "http://127.0.0.1:8080,http://10.0.0.5:8080", "", false},
		{"remote named", "http://10.0.0.5:8080", "10.0.0.5", true},
		{"remote named with port", "http://10.0.0.5:8080", "10.0.0.5:8080", true},
		{"remote other port", "http://10.0.0.5:9090", "10.0.0.5:8080", false},
		{"empty", "", "", false},
		{"ws scheme", "ws://127.0.0.1:8080", "", false},
		{"with path", "http://127.0.0.1:8080/api", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseTargets(tt.list, tt.allow)
			if (err == nil) != tt.ok {
				t.Errorf("parseTargets(%q, %q) = %v, want ok %v", tt.list, tt.allow, err, tt.ok)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	c, err := parseFlags([]string{"-targets", "http://127.0.0.1:1", "-token", "x", "-scenario", "all,baseline", "-n", "10"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := "connect,alert,ack,report,bulletin,reconnect,baseline"
	if got := strings.Join(c.scenarios, ","); got != want || c.k != 5 {
		t.Errorf("scenarios %s, k %d; want %s, 5", got, c.k, want)
	}
	if _, err := parseFlags([]string{"-scenario", "baseline"}, io.Discard); err != nil {
		t.Errorf("baseline alone needs no hub: %v", err)
	}
	for _, args := range [][]string{
		{"-scenario", "alert"}, // no target
		{"-targets", "http://127.0.0.1:1", "-scenario", "alert"},            // no token
		{"-targets", "http://192.0.2.1:1", "-token", "x"},                   // remote
		{"-scenario", "nope"},                                               // unknown
		{"-scenario", "baseline", "-n", "10", "-k", "11"},                   // k > n
		{"-scenario", "baseline", "-duration", "0s"},                        // no cap
		{"-targets", "http://127.0.0.1:1", "-token", "x", "-hub-pid", "ab"}, // bad pid
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	var ns []int64
	for i := 100; i >= 1; i-- {
		ns = append(ns, int64(i)*int64(time.Millisecond))
	}
	l := summarize(ns)
	if l.N != 100 || l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 || l.Min != 1 || l.Mean != 50.5 {
		t.Errorf("summarize = %+v", l)
	}
	if (summarize(nil) != latency{}) {
		t.Error("empty summary not zero")
	}
	if got := rate(1000, 0, int64(2*time.Second)); got != 500 {
		t.Errorf("rate = %v", got)
	}
	if got := group(1234567); got != "1,234,567" {
		t.Errorf("group = %s", got)
	}
}

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	text := `# HELP hub_connections Open WebSocket connections on this node.
# TYPE hub_connections gauge
hub_connections 1234
hub_drops_total{reason="queue_full"} 3
hub_drops_total{reason="ping timeout"} 2
process_resident_memory_bytes 5.24288e+07
process_cpu_seconds_total 12.5
`
	m := parseMetrics([]byte(text))
	if m["hub_connections"] != 1234 || m["process_resident_memory_bytes"] != 52428800 || m["process_cpu_seconds_total"] != 12.5 {
		t.Errorf("parsed %v", m)
	}
	if m[`hub_drops_total{reason="ping timeout"}`] != 2 || labelValue(`hub_drops_total{reason="ping timeout"}`, "reason") != "ping timeout" {
		t.Errorf("labels: %v", m)
	}
	d := diffHub([]hubSample{{Valid: true, CPU: 1, Drops: map[string]float64{"a": 1}, At: time.Unix(0, 0)}},
		[]hubSample{{Valid: true, CPU: 3, RSS: 10, Drops: map[string]float64{"a": 4, "b": 0}, At: time.Unix(2, 0)}})
	if d.CPUSeconds != 2 || d.CPUCores != 1 || d.Drops["a"] != 3 || len(d.Drops) != 1 {
		t.Errorf("diffHub = %+v", d)
	}
}

func TestCDFIsSVG(t *testing.T) {
	t.Parallel()
	var a, b []int64
	for i := range 5000 {
		a = append(a, int64(rand.IntN(50e6)))
		b = append(b, int64(i)*1000)
	}
	var buf bytes.Buffer
	if err := writeCDFSVG(&buf, "t <&>", []cdfSeries{{Name: "hub <a>", Ns: a}, {Name: "floor", Ns: b}}); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	lines := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	if lines != 2 {
		t.Errorf("%d polylines, want 2", lines)
	}
}

func TestGeometry(t *testing.T) {
	t.Parallel()
	p := offset(countyCenter, 3000, 4000)
	if d := distance(countyCenter, p); math.Abs(d-5000) > 5 {
		t.Errorf("distance after offset 3 km N, 4 km E = %.1f m, want about 5000", d)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		if d := distance(countyCenter, homeNear(countyCenter, rng)); d > homeMaxM+1 {
			t.Fatalf("home %.0f m from its village", d)
		}
	}
}

func TestFloorMessage(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 7, 1, 8, 0, 0, 123456789, time.UTC)
	msg := floorMessage(3, "floor-3", at, 300)
	if len(msg) != 300 {
		t.Errorf("floor message is %d bytes, want 300", len(msg))
	}
	var f inFrame
	if err := json.Unmarshal(msg, &f); err != nil || f.Type != "alert" || f.Seq != 3 || f.Alert == nil || f.Alert.ID != "floor-3" {
		t.Errorf("floor message does not parse as an alert: %v %+v", err, f)
	}
}
