package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

var demoNet = sync.OnceValues(func() (*Network, error) { return ParseNetworkBytes(DemoNetwork(county)) })

func demoNetwork(t testing.TB) *Network {
	t.Helper()
	n, err := demoNet()
	if err != nil {
		t.Fatalf("demo network: %v", err)
	}
	return n
}

func mustIso(t testing.TB, n *Network, p LatLng, mode string, minutes float64) *Isochrone {
	t.Helper()
	iso := n.Isochrone(p, mode, minutes)
	if iso == nil {
		t.Fatalf("no isochrone at %v %s %v", p, mode, minutes)
	}
	return iso
}

// riverNetwork is the oracle: a river flowing east across the
// county centre, residential roads along both banks 150 m from it, a bridge
// 4 km east of the centre, and a road running north-south through the
// centre, up to the banks. With bridgeHere the centre road crosses on a
// bridge of the given class.
func riverNetwork(t testing.TB, bridgeHere string) *Network {
	d := &demo{c: county}
	d.line(map[string]string{"waterway": "river"}, [2]float64{-10000, 0}, [2]float64{10000, 0})
	d.line(road("residential"), [2]float64{-6000, 150}, [2]float64{6000, 150})
	d.line(road("residential"), [2]float64{-6000, -150}, [2]float64{6000, -150})
	d.line(road("residential", "bridge", "yes"), [2]float64{4000, -150}, [2]float64{4000, 150})
	d.line(road("residential"), [2]float64{0, 150}, [2]float64{0, 1500})
	d.line(road("residential"), [2]float64{0, -150}, [2]float64{0, -1500})
	if bridgeHere != "" {
		d.line(road(bridgeHere, "bridge", "yes"), [2]float64{0, -150}, [2]float64{0, 150})
	}
	return mustNetwork(t, fc(t, d))
}

// TestRiverBridge: a point 800 m across the river is out of a 15-minute
// walk while the nearest bridge is 4 km away, and in once a bridge is built
// next to it; a footbridge lets walkers across but not cars.
func TestRiverBridge(t *testing.T) {
	t.Parallel()
	start, across, same := local(county, 0, 400), local(county, 0, -400), local(county, 0, 1200)
	n := riverNetwork(t, "")
	iso := mustIso(t, n, start, ModeWalk, 15)
	if iso.Contains(across) {
		m, _ := iso.MinutesTo(across)
		t.Fatalf("800 m across the river, bridge 4 km away: in 15-minute walking reach (%.1f min)", m)
	}
	if !iso.Contains(same) {
		t.Fatalf("800 m up the same road: not in reach")
	}
	// The circle would have had it.
	if DistanceM(start, across) > ReachRadiusM(15, ModeWalk) {
		t.Fatalf("test geometry: the circle does not hold the point across either")
	}
	// Through the far bridge it takes about (4 + 4 + 0.8) km / 5 km/h.
	if m, ok := mustIso(t, n, start, ModeWalk, 150).MinutesTo(across); !ok || m < 100 || m > 130 {
		t.Fatalf("walk round by the far bridge: %.1f min (reached %v), want ~106-122", m, ok)
	}

	withBridge := riverNetwork(t, "residential")
	if withBridge.Version() == n.Version() {
		t.Fatalf("adding a bridge kept the version")
	}
	iso = mustIso(t, withBridge, start, ModeWalk, 15)
	m, ok := iso.MinutesTo(across)
	if !ok {
		t.Fatalf("800 m across a bridge next to it: out of 15-minute walking reach")
	}
	// 800 m at 5 km/h is 9.6 min; the cells' centres may be up to ~130 m
	// nearer or further, and the path between centres zigzags (up to 15%).
	if m < 8 || m > 13 {
		t.Fatalf("800 m on roads at 5 km/h took %.2f min, want 8-13", m)
	}

	// A footbridge lets walkers and bikes across, not cars: the steps across
	// the river at it are blocked for motor modes only. (A drive isochrone
	// may still reach across: park on one bank, walk over.)
	foot := riverNetwork(t, "footway")
	if !mustIso(t, foot, start, ModeWalk, 15).Contains(across) {
		t.Fatalf("footbridge: point across not in walking reach")
	}
	onlyMotor := func(n *Network) (k int) {
		for i := range n.g.cells {
			walkOK := n.g.block[mWalk][i]|n.g.block[mBike][i] == 0
			if walkOK && n.g.block[mDrive][i] != 0 && n.g.block[mMotorbike][i] != 0 {
				k++
			}
		}
		return k
	}
	if onlyMotor(foot) == 0 || onlyMotor(withBridge) != 0 {
		t.Fatalf("cells with steps blocked for motor modes only: footbridge %d, road bridge %d", onlyMotor(foot), onlyMotor(withBridge))
	}
}

// TestStraightRoad: 3 km along a straight road is in a 15-minute bike
// reach (3.75 km at 15 km/h) and out on foot (1.25 km); off the road it is
// out on a bike too.
func TestStraightRoad(t *testing.T) {
	t.Parallel()
	d := &demo{c: county}
	d.line(road("tertiary"), [2]float64{-5000, 0}, [2]float64{5000, 0})
	n := mustNetwork(t, fc(t, d))
	start, along, off := county, local(county, 3000, 0), local(county, 0, 3000)
	bike := mustIso(t, n, start, ModeBike, 15)
	if m, ok := bike.MinutesTo(along); !ok || m < 12 || m > 15 {
		t.Fatalf("3 km along the road by bike: %.1f min, reached %v; want 12-14 min", m, ok)
	}
	if bike.Contains(off) {
		t.Fatalf("3 km across fields by bike: in 15-minute reach")
	}
	if mustIso(t, n, start, ModeWalk, 15).Contains(along) {
		t.Fatalf("3 km along the road on foot: in 15-minute reach")
	}
	// Driving at 40 km/h, then walking the last cells off the road.
	drive := mustIso(t, n, start, ModeDrive, 15)
	if m, ok := drive.MinutesTo(local(county, 4800, 0)); !ok || m > 9 {
		t.Fatalf("4.8 km by car: %.1f min, reached %v", m, ok)
	}
	if m, ok := drive.MinutesTo(local(county, 4000, 300)); !ok || m < 8 {
		t.Fatalf("4 km by car and 300 m on foot: %.1f min, reached %v", m, ok)
	}
}

// TestStartInWater: a point in a 300 m wide river (a water area) begins on
// its own bank and reaches the cells of that bank, not the other's.
func TestStartInWater(t *testing.T) {
	t.Parallel()
	d := &demo{c: county}
	d.polygon(map[string]string{"natural": "water", "water": "river"},
		[][2]float64{{-5000, -150}, {5000, -150}, {5000, 150}, {-5000, 150}})
	d.line(road("residential"), [2]float64{-5000, 250}, [2]float64{5000, 250})
	d.line(road("residential"), [2]float64{-5000, -250}, [2]float64{5000, -250})
	n := mustNetwork(t, fc(t, d))
	// The northernmost wet cell on the centre line: in the water, by the bank.
	start := local(county, 0, 150)
	for y := 150.0; n.g.flags[n.g.locate(start)]&cellWet == 0; y -= 5 {
		start = local(county, 0, y)
	}
	iso := mustIso(t, n, start, ModeWalk, 15)
	for _, p := range []LatLng{local(county, 0, 500), local(county, 800, 250), start} {
		if !iso.Contains(p) {
			t.Errorf("%v on the start's bank not reached", p)
		}
	}
	for _, p := range []LatLng{local(county, 0, -300), local(county, 0, -500)} {
		if iso.Contains(p) {
			t.Errorf("%v across the river reached", p)
		}
	}
	// A bank cell (centre in the water) next to the road is reached from
	// the bank; the river's middle is not.
	bank := mustIso(t, n, local(county, 0, 300), ModeWalk, 15)
	if !bank.Contains(local(county, 500, 140)) || bank.Contains(local(county, 0, -140)) {
		t.Fatalf("bank cells: north %v south %v", bank.Contains(local(county, 500, 140)), bank.Contains(local(county, 0, -140)))
	}
}

// bruteForce is the oracle for search: label-correcting Bellman-Ford (a FIFO
// work queue, states relaxed again whenever they improve) over the same
// states and steps, written from Isochrone's rules.
func bruteForce(g *grid, start, src int32, d0 float64, m mode, limit float64) map[int32]float64 {
	layers := int32(1)
	if m.vehicle() {
		layers = 3
	}
	dist := map[int32]float64{}
	best := map[int32]float64{}
	note := func(c int32, t float64) {
		if old, ok := best[c]; t <= limit && (!ok || t < old) {
			best[c] = t
		}
	}
	var queue []int32
	relax := func(s int32, t float64) {
		if old, ok := dist[s]; t <= limit && (!ok || t < old) {
			dist[s] = t
			queue = append(queue, s)
		}
	}
	note(start, 0)
	if src >= 0 {
		relax(src*layers, d0)
	}
	inf := math.Inf(1)
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		t := dist[s]
		u, layer := s/layers, s%layers
		note(u, t)
		foot := m.foot()
		lm := foot
		if layers == 3 {
			if layer == layerIn {
				lm = m
				relax(s+1, t)
			} else if layer == layerBefore && !math.IsInf(float64(g.pace[m][u]), 1) {
				relax(s+1, t)
			}
		}
		for k, v := range g.nbr[u] {
			if v < 0 {
				continue
			}
			pu, pv := float64(g.pace[lm][u]), float64(g.pace[lm][v])
			blocked := g.block[lm][u]&(1<<k) != 0
			cost := float64(g.half[u][k])
			if !blocked && pv != inf {
				relax(v*layers+layer, t+cost*(pu+pv))
				continue
			}
			lineBlocked := blocked && g.ringOnly[u]&(1<<k) == 0
			if lm == foot && g.flags[v]&cellWet != 0 && g.flags[v]&cellWall == 0 && !lineBlocked {
				note(v, t+cost*(pu+float64(offPace[lm])))
			}
		}
	}
	return best
}

func checkAgainstBruteForce(t *testing.T, n *Network, p LatLng, m mode, minutes float64, what string) int {
	t.Helper()
	g := n.g
	s := g.locate(p)
	src, d0 := g.source(s, p, m)
	want := bruteForce(g, s, src, d0, m, minutes*60)
	iso := n.compute(s, src, d0, m, minutes)
	if iso.Len() != len(want) {
		t.Fatalf("%s: %d cells, brute force %d", what, iso.Len(), len(want))
	}
	for c, secs := range want {
		got, ok := iso.CellMinutes(g.cells[c])
		if !ok || float32(got*60) != float32(secs) && math.Abs(got*60-secs) > 1e-3 {
			t.Fatalf("%s: cell %v at %.4f s (reached %v), brute force %.4f s", what, g.cells[c], got*60, ok, secs)
		}
	}
	return len(want)
}

// randomNetwork draws roads of every class, rivers, water areas, bridges and
// fords over a 3 x 3 km square around the county centre.
func randomNetwork(rng *rand.Rand) *demo {
	d := &demo{c: county}
	xy := func() [2]float64 { return [2]float64{(2*rng.Float64() - 1) * 1500, (2*rng.Float64() - 1) * 1500} }
	classes := []string{"primary", "tertiary", "residential", "track", "path", "footway", "steps", "motorway", "cycleway", "service"}
	for range 6 + rng.IntN(8) {
		pts := [][2]float64{xy()}
		for range 1 + rng.IntN(4) {
			pts = append(pts, xy())
		}
		kv := []string{}
		switch rng.IntN(8) {
		case 0:
			kv = []string{"bridge", "yes"}
		case 1:
			kv = []string{"ford", "yes"}
		case 2:
			kv = []string{"motor_vehicle", "no"}
		}
		d.line(road(classes[rng.IntN(len(classes))], kv...), pts...)
	}
	for range rng.IntN(3) { // rivers across the square, west to east or south to north
		var pts [][2]float64
		ns := rng.IntN(2) == 0
		for i := range 6 {
			a, b := -1600+640*float64(i), (2*rng.Float64()-1)*1200
			if ns {
				a, b = b, a
			}
			pts = append(pts, [2]float64{a, b})
		}
		d.line(map[string]string{"waterway": []string{"river", "stream", "canal"}[rng.IntN(3)]}, pts...)
		// a bridge across it somewhere
		if rng.IntN(3) > 0 {
			p := pts[1+rng.IntN(4)]
			d.line(road("secondary", "bridge", "yes"), [2]float64{p[0] - 200, p[1] - 200}, [2]float64{p[0] + 200, p[1] + 200})
		}
	}
	if rng.IntN(2) == 0 { // a lake, sometimes with an island
		c, r := xy(), 200+300*rng.Float64()
		var ring, hole [][2]float64
		for a := 0.0; a < 2*math.Pi; a += math.Pi / 8 {
			ring = append(ring, [2]float64{c[0] + r*math.Cos(a)*(0.7+0.3*rng.Float64()), c[1] + r*math.Sin(a)})
			hole = append(hole, [2]float64{c[0] + 0.3*r*math.Cos(a), c[1] + 0.3*r*math.Sin(a)})
		}
		d.polygon(map[string]string{"natural": "water"}, ring)
		if rng.IntN(2) == 0 {
			f := &d.features[len(d.features)-1]
			coords := f.Geometry.Coordinates.([][][2]float64)
			var h [][2]float64
			for _, p := range hole {
				h = append(h, d.at(p[0], p[1]))
			}
			f.Geometry.Coordinates = append(coords, append(h, h[0]))
		}
	}
	for range rng.IntN(3) {
		p := xy()
		d.features = append(d.features, demoFeature{"Feature", map[string]string{"ford": "yes"}, demoGeometry{"Point", d.at(p[0], p[1])}})
	}
	return d
}

// TestIsochroneMatchesBruteForce compares the search with the oracle on
// the river network, the demo network and random networks, for every mode,
// from points on roads, off roads and in water.
func TestIsochroneMatchesBruteForce(t *testing.T) {
	t.Parallel()
	modes := []mode{mWalk, mBike, mMotorbike, mDrive}
	river := riverNetwork(t, "footway")
	for _, m := range modes {
		checkAgainstBruteForce(t, river, local(county, 0, 400), m, 20, "river "+modeNames[m])
	}
	demoN := demoNetwork(t)
	for _, m := range modes {
		checkAgainstBruteForce(t, demoN, local(county, -1000, riverY(-1000)+300), m, 6, "demo "+modeNames[m])
	}
	rng := rand.New(rand.NewPCG(15, 15))
	nets := 12
	if testing.Short() {
		nets = 4
	}
	total := 0
	for i := range nets {
		n := mustNetwork(t, fc(t, randomNetwork(rng)))
		for j := range 3 {
			p := local(county, (2*rng.Float64()-1)*1500, (2*rng.Float64()-1)*1500)
			for _, m := range modes {
				mins := 2 + rng.Float64()*18
				total += checkAgainstBruteForce(t, n, p, m, mins, fmt.Sprintf("net %d start %d %s %.1f min", i, j, modeNames[m], mins))
			}
		}
	}
	t.Logf("%d reached cells compared", total)
}

func TestIsochroneCache(t *testing.T) {
	t.Parallel()
	n := riverNetwork(t, "residential")
	p := local(county, 0, 400)
	a := mustIso(t, n, p, ModeWalk, 15)
	b := mustIso(t, n, local(county, 0.5, 400.5), ModeWalk, 15) // same cell
	if n.g.locate(p) != n.g.locate(local(county, 0.5, 400.5)) {
		t.Fatalf("test geometry: points in different cells")
	}
	if a != b {
		t.Fatalf("cache miss for the same cell, mode and minutes")
	}
	if hits, misses := n.CacheStats(); hits != 1 || misses != 1 {
		t.Fatalf("cache stats %d hits %d misses, want 1 and 1", hits, misses)
	}
	if c := mustIso(t, n, p, ModeWalk, 16); c == a {
		t.Fatalf("other minutes hit the cache")
	}
	if c := mustIso(t, n, p, ModeBike, 15); c == a {
		t.Fatalf("other mode hit the cache")
	}
	// A new version of the network: a miss, and a result of its own.
	n2 := riverNetwork(t, "")
	c := mustIso(t, n2, p, ModeWalk, 15)
	if c == a || c.Version() == a.Version() || c.Contains(local(county, 0, -400)) == a.Contains(local(county, 0, -400)) {
		t.Fatalf("new network version: versions %q %q", c.Version(), a.Version())
	}
	if hits, misses := n2.CacheStats(); hits != 0 || misses != 1 {
		t.Fatalf("new version cache stats %d hits %d misses, want 0 and 1", hits, misses)
	}
}

func TestIsochroneCacheBound(t *testing.T) {
	t.Parallel()
	var c isoCache
	big := func() *Isochrone { return &Isochrone{cells: make([]h3.Cell, isoCacheCells/3)} }
	for i := range 5 {
		c.put(isoKey{start: int32(i)}, big())
	}
	if c.lru.Len() != 3 || c.cells != 3*(isoCacheCells/3) {
		t.Fatalf("%d entries, %d cells", c.lru.Len(), c.cells)
	}
	if c.get(isoKey{start: 0}) != nil || c.get(isoKey{start: 4}) == nil {
		t.Fatalf("LRU kept the oldest or lost the newest")
	}
	c.get(isoKey{start: 2}) // now 2 is the most recent
	c.put(isoKey{start: 5}, big())
	if c.get(isoKey{start: 2}) == nil || c.get(isoKey{start: 3}) != nil {
		t.Fatalf("LRU evicted the recently used entry")
	}
	for i := range isoCacheEntries + 10 {
		c.put(isoKey{start: int32(100 + i)}, &Isochrone{cells: make([]h3.Cell, 1)})
	}
	if c.lru.Len() != isoCacheEntries || len(c.entries) != isoCacheEntries {
		t.Fatalf("%d entries over the bound %d", c.lru.Len(), isoCacheEntries)
	}
	c.put(isoKey{start: -1}, &Isochrone{cells: make([]h3.Cell, isoCacheCells+1)}) // too big to keep
	if c.get(isoKey{start: -1}) != nil {
		t.Fatalf("kept an isochrone over the whole budget")
	}
}

// TestFallback: without a network, or beyond it, a reach is today's circle
// and says so.
func TestFallback(t *testing.T) {
	t.Parallel()
	var none *Network
	reach := Area{Reach: &Reach{Lat: county.Lat, Lng: county.Lng, Minutes: 15, Mode: ModeBike}}
	if none.Isochrone(county, ModeWalk, 15) != nil || none.Covers(county) {
		t.Fatalf("nil network gave an isochrone")
	}
	circle := mustCompile(t, reach)
	r, err := none.Compile(reach)
	if err != nil || !r.Fallback() || r.Isochrone() != nil || !circle.Fallback() {
		t.Fatalf("nil network: %v, fallback %v", err, r.Fallback())
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for range 2000 {
		p := dest(county, rng.Float64()*2*math.Pi, rng.Float64()*8000)
		if r.Contains(p) != circle.Contains(p) || r.Contains(p) != (DistanceM(county, p) <= ReachRadiusM(15, ModeBike)) {
			t.Fatalf("fallback differs from the circle at %v", p)
		}
	}
	n := riverNetwork(t, "")
	far := local(county, 30000, 0) // beyond the network's grid
	if n.Covers(far) || n.Isochrone(far, ModeWalk, 15) != nil {
		t.Fatalf("isochrone beyond the network")
	}
	r, _ = n.Compile(Area{Reach: &Reach{Lat: far.Lat, Lng: far.Lng}})
	if !r.Fallback() {
		t.Fatalf("reach beyond the network is not a fallback")
	}
	r, _ = n.Compile(reach)
	if r.Fallback() || r.Isochrone() == nil || r.Area().Reach.Mode != ModeBike {
		t.Fatalf("reach on the network: fallback %v", r.Fallback())
	}
	// Other areas compile as before.
	if r, err := n.Compile(circleArea(county, 500)); err != nil || r.Fallback() || r.Isochrone() != nil {
		t.Fatalf("circle over a network: %v", err)
	}
	if _, err := n.Compile(Area{Reach: &Reach{Lat: 95}}); err == nil {
		t.Fatalf("invalid reach accepted")
	}
	for _, bad := range []struct {
		mode string
		min  float64
	}{{"boat", 15}, {ModeWalk, 0}, {ModeWalk, -1}, {ModeWalk, MaxReachMinutes + 1}, {ModeWalk, math.NaN()}} {
		if n.Isochrone(county, bad.mode, bad.min) != nil {
			t.Errorf("Isochrone(%q, %v) != nil", bad.mode, bad.min)
		}
	}
}

// TestLeafRings checks the bound classifyLeaf relies on: a point's res-10
// cell is within leafRings (in practice 2) steps of the centre child of its
// res-9 cell; and centreChild agrees with H3.
func TestLeafRings(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 9))
	worst := 0
	for range 20000 {
		p := local(county, (2*rng.Float64()-1)*50000, (2*rng.Float64()-1)*50000)
		if rng.IntN(4) == 0 {
			p = LatLng{math.Asin(2*rng.Float64()-1) * radToDeg * 0.9, rng.Float64()*360 - 180}
		}
		leaf := h3.LatLngToCell(h3.LatLng(p), indexRes)
		c0 := centreChild(leaf, NetworkRes)
		if c0 != leaf.CenterChild(NetworkRes) {
			t.Fatalf("centreChild(%v) = %v, want %v", leaf, c0, leaf.CenterChild(NetworkRes))
		}
		d := h3.GridDistance(h3.LatLngToCell(h3.LatLng(p), NetworkRes), c0)
		if d < 0 || d > leafRings {
			t.Fatalf("point %v: res-10 cell %d steps from its leaf's centre child", p, d)
		}
		worst = max(worst, d)
	}
	t.Logf("largest distance: %d steps (leafRings %d)", worst, leafRings)
}

// TestQueryIsochrone: Index.Query and Count with an isochrone region equal
// a brute-force scan with Contains, over members spread around the demo
// network, for every mode; most members are answered by whole cells.
func TestQueryIsochrone(t *testing.T) {
	t.Parallel()
	n := demoNetwork(t)
	rng := rand.New(rand.NewPCG(21, 22))
	ix := NewIndex()
	pop := population{}
	for i, m := range villagePopulation(rng, county, 12000, 60, 150, 20000, 500) {
		ix.Set(uint32(i), m.p, m.tag)
		pop[uint32(i)] = m
	}
	for i, tc := range []struct {
		p       LatLng
		mode    string
		minutes float64
	}{
		{local(county, -1000, riverY(-1000)+400), ModeWalk, 15},
		{local(county, -1000, riverY(-1000)+400), ModeBike, 15},
		{local(county, -1000, riverY(-1000)+400), ModeDrive, 15},
		{local(county, 3000, -2000), ModeMotorbike, 10},
		{local(county, 5000, riverY(5000)), ModeWalk, 30}, // in the river
		{local(county, -6000, -9000), ModeWalk, 20},       // in the reservoir
	} {
		iso := mustIso(t, n, tc.p, tc.mode, tc.minutes)
		r := iso.Region()
		if tc.mode != ModeMotorbike {
			var err error
			if r, err = n.Compile(Area{Reach: &Reach{Lat: tc.p.Lat, Lng: tc.p.Lng, Minutes: tc.minutes, Mode: tc.mode}}); err != nil || r.Isochrone() != iso {
				t.Fatalf("Compile: %v, isochrone %p want %p", err, r.Isochrone(), iso)
			}
		}
		what := fmt.Sprintf("case %d %s %v", i, tc.mode, tc.minutes)
		in := checkMasks(t, ix, pop, r, what, allTags, 0x01, 0x06)
		// Cells wholly inside are answered without a member test.
		leaves := map[h3.Cell]class{}
		whole := 0
		for ref := range pop {
			if !r.Contains(pop[ref].p) {
				continue
			}
			leaf := h3.LatLngToCell(h3.LatLng(pop[ref].p), indexRes)
			if _, ok := leaves[leaf]; !ok {
				leaves[leaf] = iso.classifyLeaf(leaf)
			}
			if leaves[leaf] == inside {
				whole++
			}
		}
		if in > 200 && whole < in/3 {
			t.Errorf("%s: only %d of %d members in cells wholly inside", what, whole, in)
		}
		if cells := r.Cells(); len(cells) == 0 || len(cells) > maxCoverCells {
			t.Errorf("%s: %d preview cells", what, len(cells))
		}
		t.Logf("%s: %d cells, %d members in, %d of them in whole cells", what, iso.Len(), in, whole)
	}
}

// TestClassifyLeafSound: a leaf classified inside holds only members whose
// cell is reached, outside only members whose cell is not.
func TestClassifyLeafSound(t *testing.T) {
	t.Parallel()
	n := demoNetwork(t)
	iso := mustIso(t, n, local(county, -1000, riverY(-1000)+400), ModeDrive, 10)
	rng := rand.New(rand.NewPCG(5, 6))
	counts := map[class]int{}
	for range 100000 {
		p := local(county, (2*rng.Float64()-1)*15000, (2*rng.Float64()-1)*12000)
		cl := iso.classifyLeaf(h3.LatLngToCell(h3.LatLng(p), indexRes))
		counts[cl]++
		if in := iso.Contains(p); (cl == inside && !in) || (cl == outside && in) {
			t.Fatalf("%v: leaf class %d, contained %v", p, cl, in)
		}
	}
	if counts[inside] == 0 || counts[outside] == 0 || counts[straddles] == 0 {
		t.Fatalf("classes %v", counts)
	}
}

func TestIsochroneAccessors(t *testing.T) {
	t.Parallel()
	n := riverNetwork(t, "residential")
	iso := mustIso(t, n, county, ModeBike, 10)
	if iso.Mode() != ModeBike || iso.MaxMinutes() != 10 || iso.Version() != n.Version() ||
		iso.StartCell() != h3.LatLngToCell(h3.LatLng(county), NetworkRes) {
		t.Fatalf("accessors: %s %v %s %v", iso.Mode(), iso.MaxMinutes(), iso.Version(), iso.StartCell())
	}
	var cells []h3.Cell
	for c, m := range iso.All() {
		cells = append(cells, c)
		if m < 0 || m > 10 {
			t.Fatalf("cell %v at %v min", c, m)
		}
		if got, ok := iso.CellMinutes(c); !ok || got != m {
			t.Fatalf("CellMinutes(%v) = %v %v, want %v", c, got, ok, m)
		}
	}
	if len(cells) != iso.Len() || !slices.IsSorted(cells) {
		t.Fatalf("All: %d cells, sorted %v", len(cells), slices.IsSorted(cells))
	}
	if m, ok := iso.MinutesTo(county); !ok || m != 0 {
		t.Fatalf("start at %v min", m)
	}
	if _, ok := iso.MinutesTo(LatLng{Lat: 100}); ok {
		t.Fatalf("invalid point reached")
	}
}

// TestIsochroneConcurrent computes isochrones from several goroutines on one
// network (shared cache and scratch pool) and compares them with a copy of
// the network used from one goroutine.
func TestIsochroneConcurrent(t *testing.T) {
	t.Parallel()
	n, ref := riverNetwork(t, "residential"), riverNetwork(t, "residential")
	rng := rand.New(rand.NewPCG(8, 8))
	type job struct {
		p       LatLng
		mode    string
		minutes float64
		want    int
	}
	jobs := make([]job, 40)
	for i := range jobs {
		j := job{local(county, (2*rng.Float64()-1)*3000, (2*rng.Float64()-1)*1000), modeNames[rng.IntN(int(numModes))], float64(3 + rng.IntN(3)*4), 0}
		j.want = mustIso(t, ref, j.p, j.mode, j.minutes).Len()
		jobs[i] = j
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range jobs {
				j := jobs[(i+w*7)%len(jobs)]
				if iso := n.Isochrone(j.p, j.mode, j.minutes); iso == nil || iso.Len() != j.want {
					t.Errorf("%v %s %v: concurrent isochrone differs", j.p, j.mode, j.minutes)
				}
			}
		})
	}
	wg.Wait()
}
