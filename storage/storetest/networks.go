package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

var networkCases = []testCase{
	{"NetworkNone", testNetworkNone},
	{"NetworkVersions", testNetworkVersions},
	{"NetworkRemoval", testNetworkRemoval},
	{"ListNetworks", testListNetworks},
	{"NetworkBig", testNetworkBig},
	{"NetworkConcurrentPuts", testNetworkConcurrentPuts},
}

// networkOf is a small network version: a FeatureCollection with one road
// named after version, and its stats.
func networkOf(version string, c time.Time) *storage.Network {
	geo := fmt.Sprintf(`{"type":"FeatureCollection","features":[{"type":"Feature",`+
		`"properties":{"kind":"road","name":"路 %s"},"geometry":{"type":"LineString",`+
		`"coordinates":[[119.17,29.03],[119.18,29.04]]}}]}`, version)
	return &storage.Network{Version: version, GeoJSON: []byte(geo),
		Stats:     json.RawMessage(`{"roads":1,"water":0,"bridges":0,"version":"` + version + `"}`),
		CreatedBy: "admin-1", CreatedAt: c}
}

// removalAt is a removal record.
func removalAt(c time.Time) *storage.Network {
	return &storage.Network{CreatedBy: "admin-2", CreatedAt: c}
}

// wantNetwork fails unless got is want; with geo false, got must carry no
// GeoJSON (NetworkHead, ListNetworks), with stats false no Stats
// (NetworkHead). Reading: a nil GeoJSON or Stats is read back as nil (not
// an empty slice).
func wantNetwork(t testing.TB, got storage.Network, want *storage.Network, geo, stats bool, what string) {
	t.Helper()
	if got.Seq != want.Seq || got.Version != want.Version || got.CreatedBy != want.CreatedBy {
		t.Errorf("%s: got seq %d version %q by %q, want seq %d version %q by %q", what,
			got.Seq, got.Version, got.CreatedBy, want.Seq, want.Version, want.CreatedBy)
	}
	wantTime(t, got.CreatedAt, want.CreatedAt, what+": created_at")
	switch {
	case !geo && got.GeoJSON != nil:
		t.Errorf("%s: GeoJSON of %d bytes, want nil", what, len(got.GeoJSON))
	case geo && want.GeoJSON == nil && got.GeoJSON != nil:
		t.Errorf("%s: GeoJSON %q, want nil", what, got.GeoJSON)
	case geo && !bytes.Equal(got.GeoJSON, want.GeoJSON):
		t.Errorf("%s: GeoJSON of %d bytes differs from the %d bytes stored", what, len(got.GeoJSON), len(want.GeoJSON))
	}
	switch {
	case !stats && got.Stats != nil:
		t.Errorf("%s: Stats %s, want nil", what, got.Stats)
	case stats && want.Stats == nil && got.Stats != nil:
		t.Errorf("%s: Stats %q, want nil", what, got.Stats)
	case stats:
		wantJSON(t, got.Stats, want.Stats, what+": stats")
	}
}

// testNetworkNone: before any version, the reads say so.
func testNetworkNone(t *testing.T, s storage.Store) {
	ctx := t.Context()
	_, err := s.CurrentNetwork(ctx)
	wantErrIs(t, err, storage.ErrNotFound, "current network of an empty store")
	_, err = s.NetworkHead(ctx)
	wantErrIs(t, err, storage.ErrNotFound, "network head of an empty store")
	ns, err := s.ListNetworks(ctx, 0)
	mustNoErr(t, err, "list networks of an empty store")
	if len(ns) != 0 {
		t.Errorf("empty store lists %d networks", len(ns))
	}
}

// testNetworkVersions: each PutNetwork gets a larger seq and becomes the
// current version, GeoJSON and Stats as stored; NetworkHead is the same
// version without them.
func testNetworkVersions(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var prev int64
	for i, v := range []string{"sha256:aaa", "sha256:bbb", "sha256:ccc"} {
		n := networkOf(v, at(time.Duration(i)*time.Hour))
		mustNoErr(t, s.PutNetwork(ctx, n), "put network "+v)
		if n.Seq <= prev {
			t.Errorf("put network %s: seq %d, want more than %d", v, n.Seq, prev)
		}
		prev = n.Seq

		cur, err := s.CurrentNetwork(ctx)
		mustNoErr(t, err, "current network")
		wantNetwork(t, cur, n, true, true, "current network after "+v)
		head, err := s.NetworkHead(ctx)
		mustNoErr(t, err, "network head")
		wantNetwork(t, head, n, false, false, "network head after "+v)
	}
	// Reading: the newest is the highest seq, not the latest CreatedAt.
	old := networkOf("sha256:old-clock", at(-time.Hour))
	mustNoErr(t, s.PutNetwork(ctx, old), "put network with an earlier clock")
	head, err := s.NetworkHead(ctx)
	mustNoErr(t, err, "network head")
	wantNetwork(t, head, old, false, false, "network head after a version with an earlier CreatedAt")
}

// testNetworkRemoval: a removal (Version "", nil GeoJSON and Stats) is a
// version like any other; it round-trips with nil GeoJSON and Stats, and an
// upload after it is current again. Reading: a GeoJSON or Stats of length
// zero is a removal too, read back as nil.
func testNetworkRemoval(t *testing.T, s storage.Store) {
	ctx := t.Context()
	v1 := networkOf("sha256:v1", t0)
	mustNoErr(t, s.PutNetwork(ctx, v1), "put network")
	rm := removalAt(at(time.Minute))
	mustNoErr(t, s.PutNetwork(ctx, rm), "put removal")
	if rm.Seq <= v1.Seq {
		t.Errorf("removal seq %d, want more than %d", rm.Seq, v1.Seq)
	}
	cur, err := s.CurrentNetwork(ctx)
	mustNoErr(t, err, "current network")
	wantNetwork(t, cur, rm, true, true, "current network after a removal")
	if cur.GeoJSON != nil || cur.Stats != nil {
		t.Errorf("removal read back with GeoJSON %#v, Stats %#v: want nil", cur.GeoJSON, cur.Stats)
	}
	head, err := s.NetworkHead(ctx)
	mustNoErr(t, err, "network head")
	wantNetwork(t, head, rm, false, false, "network head after a removal")

	empty := &storage.Network{GeoJSON: []byte{}, Stats: json.RawMessage{}, CreatedBy: "admin-3", CreatedAt: at(2 * time.Minute)}
	mustNoErr(t, s.PutNetwork(ctx, empty), "put removal with empty slices")
	cur, err = s.CurrentNetwork(ctx)
	mustNoErr(t, err, "current network")
	if cur.Seq != empty.Seq || cur.GeoJSON != nil || cur.Stats != nil {
		t.Errorf("removal with empty slices read back as seq %d GeoJSON %#v Stats %#v, want seq %d and nil",
			cur.Seq, cur.GeoJSON, cur.Stats, empty.Seq)
	}

	v2 := networkOf("sha256:v2", at(3*time.Minute))
	mustNoErr(t, s.PutNetwork(ctx, v2), "put network after the removal")
	cur, err = s.CurrentNetwork(ctx)
	mustNoErr(t, err, "current network")
	wantNetwork(t, cur, v2, true, true, "current network after an upload that follows a removal")

	ns, err := s.ListNetworks(ctx, 10)
	mustNoErr(t, err, "list networks")
	if len(ns) != 4 {
		t.Fatalf("list networks: %d versions, want 4", len(ns))
	}
	wantNetwork(t, ns[0], v2, false, true, "listed v2")
	wantNetwork(t, ns[1], empty, false, true, "listed removal with empty slices")
	wantNetwork(t, ns[2], rm, false, true, "listed removal")
	wantNetwork(t, ns[3], v1, false, true, "listed v1")
}

// testListNetworks: newest first, up to limit; zero or less means 20;
// never the GeoJSON, always the Stats.
func testListNetworks(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var put []*storage.Network
	for i := range 25 {
		var n *storage.Network
		if i%7 == 3 {
			n = removalAt(at(time.Duration(i) * time.Minute))
		} else {
			n = networkOf(fmt.Sprintf("v%02d", i), at(time.Duration(i)*time.Minute))
		}
		mustNoErr(t, s.PutNetwork(ctx, n), "put network")
		put = append(put, n)
	}
	newest := func(k int) []*storage.Network {
		var out []*storage.Network
		for i := len(put) - 1; i >= 0 && len(out) < k; i-- {
			out = append(out, put[i])
		}
		return out
	}
	for _, tc := range []struct{ limit, want int }{{0, 20}, {-1, 20}, {1, 1}, {3, 3}, {20, 20}, {25, 25}, {100, 25}} {
		ns, err := s.ListNetworks(ctx, tc.limit)
		mustNoErr(t, err, "list networks")
		if len(ns) != tc.want {
			t.Errorf("list networks, limit %d: %d versions, want %d", tc.limit, len(ns), tc.want)
			continue
		}
		for i, w := range newest(tc.want) {
			wantNetwork(t, ns[i], w, false, true, fmt.Sprintf("limit %d, version %d", tc.limit, i))
		}
	}
}

// bigGeoJSON is a FeatureCollection of about size bytes, every feature
// different, with non-ASCII names.
func bigGeoJSON(size int) []byte {
	var b strings.Builder
	b.Grow(size + 256)
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"Feature","properties":{"kind":"road","name":"道路 %d 号"},`+
			`"geometry":{"type":"LineString","coordinates":[[%.7f,%.7f],[%.7f,%.7f]]}}`,
			i, 119+float64(i%1000)*1e-4, 29+float64(i/1000)*1e-4, 119.00005+float64(i%997)*1e-4, 29.00005+float64(i/997)*1e-4)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// testNetworkBig: a 5 MiB GeoJSON comes back byte for byte; the head and
// the list do not carry it.
func testNetworkBig(t *testing.T, s storage.Store) {
	ctx := t.Context()
	geo := bigGeoJSON(5 << 20)
	n := &storage.Network{Version: "sha256:big", GeoJSON: bytes.Clone(geo),
		Stats: json.RawMessage(`{"roads":60000}`), CreatedBy: "admin-1", CreatedAt: t0}
	mustNoErr(t, s.PutNetwork(ctx, n), "put a 5 MiB network")
	cur, err := s.CurrentNetwork(ctx)
	mustNoErr(t, err, "current network")
	if !bytes.Equal(cur.GeoJSON, geo) {
		t.Fatalf("5 MiB GeoJSON: read back %d bytes, not the %d stored", len(cur.GeoJSON), len(geo))
	}
	wantNetwork(t, cur, n, true, true, "current big network")
	head, err := s.NetworkHead(ctx)
	mustNoErr(t, err, "network head")
	wantNetwork(t, head, n, false, false, "head of a big network")
	ns, err := s.ListNetworks(ctx, 0)
	mustNoErr(t, err, "list networks")
	if len(ns) != 1 {
		t.Fatalf("list networks: %d versions, want 1", len(ns))
	}
	wantNetwork(t, ns[0], n, false, true, "listed big network")
}

// testNetworkConcurrentPuts: uploads from several goroutines get distinct
// seqs, and the current version is the one with the highest.
func testNetworkConcurrentPuts(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const writers, each = 4, 5
	var (
		mu   sync.Mutex
		seqs = map[int64]*storage.Network{}
		wg   sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				n := networkOf(fmt.Sprintf("w%d-%d", w, i), at(time.Duration(i)*time.Second))
				if err := s.PutNetwork(ctx, n); err != nil {
					t.Errorf("put network: %v", err)
					return
				}
				mu.Lock()
				if seqs[n.Seq] != nil {
					t.Errorf("seq %d given to two uploads", n.Seq)
				}
				seqs[n.Seq] = n
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seqs) != writers*each {
		t.Fatalf("%d distinct seqs, want %d", len(seqs), writers*each)
	}
	var top int64
	for seq := range seqs {
		top = max(top, seq)
	}
	cur, err := s.CurrentNetwork(ctx)
	mustNoErr(t, err, "current network")
	wantNetwork(t, cur, seqs[top], true, true, "current network after concurrent uploads")
	ns, err := s.ListNetworks(ctx, 100)
	mustNoErr(t, err, "list networks")
	if len(ns) != writers*each {
		t.Fatalf("list networks: %d, want %d", len(ns), writers*each)
	}
	for i := 1; i < len(ns); i++ {
		if ns[i].Seq >= ns[i-1].Seq {
			t.Errorf("list networks not newest first: seq %d after %d", ns[i].Seq, ns[i-1].Seq)
		}
	}
}
