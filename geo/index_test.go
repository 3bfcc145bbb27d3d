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

// randomRegion draws an area of every geographic kind around the county.
func randomRegion(rng *rand.Rand, i int) (Area, string) {
	c := local(county, (2*rng.Float64()-1)*30000, (2*rng.Float64()-1)*30000)
	switch i % 9 {
	case 0, 1, 2: // circles from 50 m to 100 km, log-uniform
		rad := 50 * math.Pow(2000, rng.Float64())
		return circleArea(c, rad), fmt.Sprintf("circle r=%.0f", rad)
	case 3:
		mode := []string{ModeWalk, ModeBike, ModeDrive}[rng.IntN(3)]
		mins := 1 + rng.Float64()*29
		return Area{Reach: &Reach{Lat: c.Lat, Lng: c.Lng, Minutes: mins, Mode: mode}}, fmt.Sprintf("reach %s %.1f min", mode, mins)
	case 4:
		rad := 200 * math.Pow(250, rng.Float64())
		n := 3 + rng.IntN(30)
		return ringToArea(convexRing(rng, c, rad, n)), fmt.Sprintf("convex n=%d r=%.0f", n, rad)
	case 5:
		rad := 500 * math.Pow(100, rng.Float64())
		spikes := 3 + rng.IntN(40)
		return ringToArea(starRing(c, rad, rad*(0.15+0.5*rng.Float64()), spikes, rng.Float64())), fmt.Sprintf("star %d r=%.0f", spikes, rad)
	case 6:
		w := 1000 * math.Pow(50, rng.Float64())
		return ringToArea(uRing(c, w, w*(0.5+rng.Float64()), w*(0.05+0.2*rng.Float64()), rng.Float64()*math.Pi)), fmt.Sprintf("U w=%.0f", w)
	case 7:
		rad := 2000 * math.Pow(25, rng.Float64())
		n := 20 + rng.IntN(980)
		return ringToArea(polarRing(rng, c, rad, n)), fmt.Sprintf("polar n=%d r=%.0f", n, rad)
	default: // big: spans many res-4/5 cells
		rad := 40000 + rng.Float64()*60000
		if rng.IntN(2) == 0 {
			return circleArea(county, rad), fmt.Sprintf("circle r=%.0f", rad)
		}
		return ringToArea(starRing(county, rad, rad/3, 7, rng.Float64())), fmt.Sprintf("big star r=%.0f", rad)
	}
}

// probes returns members to place on and around the region's edge, and for
// those whose side is known, whether Contains must be true.
func probes(rng *rand.Rand, a Area, r *Region) (pts []LatLng, want []int8) {
	switch {
	case a.Polygon != nil:
		ring, _ := checkPolygon(a.Polygon)
		onEdge, off, in := edgeProbes(ring, 60)
		convex := len(ring) > 0 && isConvex(ring)
		for _, p := range onEdge {
			pts, want = append(pts, p), append(want, 1)
		}
		for i, p := range off {
			w := int8(-1) // unknown in a concave ring: another edge may be near
			if convex {
				w = 0
				if in[i] {
					w = 1
				}
			}
			pts, want = append(pts, p), append(want, w)
		}
	default:
		for range 60 {
			brg := rng.Float64() * 2 * math.Pi
			pts = append(pts, dest(LatLng{r.lat, r.lng}, brg, r.radiusM-1), dest(LatLng{r.lat, r.lng}, brg, r.radiusM+1))
			want = append(want, 1, 0)
		}
		pts, want = append(pts, LatLng{r.lat, r.lng}), append(want, 1)
	}
	return pts, want
}

func isConvex(ring []LatLng) bool {
	n := len(ring)
	sign := 0
	for i := range n {
		a, b, c := ring[i], ring[(i+1)%n], ring[(i+2)%n]
		o := orient(a.Lng, a.Lat, b.Lng, b.Lat, c.Lng, c.Lat)
		if o != 0 {
			if sign != 0 && o != sign {
				return false
			}
			sign = o
		}
	}
	return true
}

// TestQueryMatchesOracle is the main correctness test: random clustered and
// uniform members, random areas of every kind, members placed 1 m either
// side of the edges and exactly on them, members moving and leaving between
// queries; Query and Count must equal a brute-force scan with Contains.
func TestQueryMatchesOracle(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	ix := NewIndex()
	pop := population{}
	members := villagePopulation(rng, county, 35000, 40, 250, 5000, 400)
	for i, m := range members {
		ix.Set(uint32(i), m.p, m.tag)
		pop[uint32(i)] = m
	}
	checkIndex(t, ix, pop)
	nextRef := uint32(len(members))
	matched := 0
	for i := range 72 {
		a, what := randomRegion(rng, i)
		r := mustCompile(t, a)

		// Members on and around this region's edge.
		pts, want := probes(rng, a, r)
		var edgeRefs []uint32
		for j, p := range pts {
			if want[j] >= 0 && r.Contains(p) != (want[j] == 1) {
				t.Fatalf("%s: Contains(%v) = %v, want %v (edge probe %d)", what, p, !r.Contains(p), want[j] == 1, j)
			}
			ref := nextRef
			nextRef++
			m := member{p, uint8(rng.IntN(8))}
			ix.Set(ref, m.p, m.tag)
			pop[ref] = m
			edgeRefs = append(edgeRefs, ref)
		}

		// All tags, a random mask, and a rare tag (most subtrees skipped
		// by their counts).
		matched += checkMasks(t, ix, pop, r, what, allTags, uint8(1+rng.IntN(255)), 1<<3)

		for _, ref := range edgeRefs {
			ix.Remove(ref)
			delete(pop, ref)
		}
		// Churn: some members move (nearby or far, possibly changing tag),
		// some leave, some join.
		for range 200 {
			ref := uint32(rng.IntN(int(nextRef)))
			switch m, ok := pop[ref]; {
			case !ok:
			case rng.IntN(4) == 0:
				ix.Remove(ref)
				delete(pop, ref)
			case rng.IntN(2) == 0:
				m.p = local(m.p, rng.NormFloat64()*30, rng.NormFloat64()*30)
				ix.Set(ref, m.p, m.tag)
				pop[ref] = m
			default:
				m = member{local(county, (2*rng.Float64()-1)*35000, (2*rng.Float64()-1)*35000), randTag(rng)}
				ix.Set(ref, m.p, m.tag)
				pop[ref] = m
			}
		}
		for range 50 {
			m := member{local(county, (2*rng.Float64()-1)*35000, (2*rng.Float64()-1)*35000), randTag(rng)}
			ix.Set(nextRef, m.p, m.tag)
			pop[nextRef] = m
			nextRef++
		}
	}
	checkIndex(t, ix, pop)
	if matched < 10000 {
		t.Fatalf("only %d members matched over all regions: areas too small to test much", matched)
	}
	// Remove everyone: the tree must be empty again.
	for ref := range pop {
		ix.Remove(ref)
		delete(pop, ref)
	}
	checkIndex(t, ix, pop)
	for i := range ix.shards {
		if len(ix.shards[i].rootList) != 0 || len(ix.shards[i].slots) != 0 {
			t.Fatalf("shard %d not empty after removing everyone", i)
		}
	}
}

// TestQueryWorldEdges covers places where lat/lng and H3 are awkward: the
// poles, the antimeridian (lng 180 and -180 both used), and pentagons.
func TestQueryWorldEdges(t *testing.T) {
	t.Parallel()
	pent := LatLng(h3.CellToLatLng(h3.Pentagons(0)[2]))
	tests := []struct {
		name   string
		centre LatLng
		area   Area
	}{
		{"north pole circle", LatLng{89.95, 10}, circleArea(LatLng{89.95, 10}, 60000)},
		{"south pole reach", LatLng{-89.99, -170}, Area{Reach: &Reach{Lat: -89.99, Lng: -170, Minutes: 120, Mode: ModeDrive}}},
		{"antimeridian circle", LatLng{-16.5, 179.9}, circleArea(LatLng{-16.5, 179.9}, 30000)},
		{"antimeridian polygon", LatLng{-16.5, 179.9}, Area{Polygon: [][]float64{{-16.8, 179.5}, {-16.8, 180}, {-16.2, 180}, {-16.2, 179.5}}}},
		{"antimeridian polygon west", LatLng{-16.5, -179.9}, Area{Polygon: [][]float64{{-16.8, -180}, {-16.8, -179.5}, {-16.2, -179.5}, {-16.2, -180}}}},
		{"polar polygon", LatLng{87, 0}, Area{Polygon: [][]float64{{85, -90}, {85, 0}, {85, 90}, {89.9, 0}}}},
		{"pentagon circle", pent, circleArea(pent, 40000)},
		{"pentagon star", pent, ringToArea(starRing(pent, 50000, 15000, 9, 0.3))},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(3, uint64(i)))
			ix := NewIndex()
			pop := population{}
			r := mustCompile(t, tt.area)
			for i := range 4000 {
				p := dest(tt.centre, rng.Float64()*2*math.Pi, 120000*math.Sqrt(rng.Float64()))
				if i%10 == 0 && math.Abs(p.Lng) > 179 { // both spellings of the antimeridian
					p.Lng = math.Copysign(180, -p.Lng)
				}
				m := member{p, randTag(rng)}
				ix.Set(uint32(i), m.p, m.tag)
				pop[uint32(i)] = m
			}
			pts, _ := probes(rng, tt.area, r)
			for i, p := range pts {
				if !p.Valid() { // 1 m beyond an edge on the antimeridian
					continue
				}
				ix.Set(uint32(10000+i), p, 0)
				pop[uint32(10000+i)] = member{p, 0}
			}
			checkIndex(t, ix, pop)
			if n := checkQuery(t, ix, pop, r, allTags, tt.name); n == 0 {
				t.Fatalf("%s matched nobody", tt.name)
			}
		})
	}
}

// TestQuerySnapshot moves members back and forth between two places while
// querying an area holding both: a snapshot query finds each mover exactly
// once, never twice or not at all.
func TestQuerySnapshot(t *testing.T) {
	t.Parallel()
	ix := NewIndex()
	a, b := local(county, -20000, 0), local(county, 20000, 0) // different res-5 cells, usually different shards
	const movers = 200
	for i := range movers {
		ix.Set(uint32(i), a, 0)
	}
	both := mustCompile(t, circleArea(county, 30000))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				ref := uint32(rng.IntN(movers))
				p := a
				if rng.IntN(2) == 0 {
					p = b
				}
				ix.Set(ref, local(p, rng.Float64()*100, 0), 0)
			}
		})
	}
	var dst []uint32
	for range 300 {
		dst = ix.Query(both, allTags, dst[:0])
		slices.Sort(dst)
		if len(dst) != movers || len(slices.Compact(dst)) != movers {
			close(stop)
			wg.Wait()
			t.Fatalf("query during moves returned %d members (%d distinct), want %d", len(dst), len(slices.Compact(dst)), movers)
		}
		if c := ix.Count(both, allTags); c != movers {
			close(stop)
			wg.Wait()
			t.Fatalf("Count during moves = %d, want %d", c, movers)
		}
	}
	close(stop)
	wg.Wait()
}

// TestConcurrentUse runs writers, removers and readers together under the
// race detector, then checks the tree against what the writers did.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ix := NewIndex()
	r := mustCompile(t, circleArea(county, 15000))
	var mu sync.Mutex
	pop := population{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 5))
			for i := range 1500 {
				ref := uint32(w*100000 + rng.IntN(400))
				mu.Lock()
				if i%7 == 0 {
					ix.Remove(ref)
					delete(pop, ref)
				} else {
					m := member{local(county, rng.NormFloat64()*10000, rng.NormFloat64()*10000), randTag(rng)}
					ix.Set(ref, m.p, m.tag)
					pop[ref] = m
				}
				mu.Unlock()
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			var dst []uint32
			for range 100 {
				dst = ix.Query(r, allTags, dst[:0])
				_ = ix.Count(r, 0x03)
				_ = ix.Density(7)
			}
		})
	}
	wg.Wait()
	checkIndex(t, ix, pop)
	checkQuery(t, ix, pop, r, allTags, "after concurrent use")
}

func TestPutRejects(t *testing.T) {
	t.Parallel()
	ix := NewIndex()
	ix.Set(1, county, 2)
	for _, tt := range []struct {
		p   LatLng
		tag uint8
		err error
	}{
		{LatLng{math.NaN(), 0}, 0, ErrBadPosition},
		{LatLng{91, 0}, 0, ErrBadPosition},
		{LatLng{0, -180.5}, 0, ErrBadPosition},
		{LatLng{0, math.Inf(1)}, 0, ErrBadPosition},
		{county, 8, ErrBadTag},
	} {
		if err := ix.Put(1, tt.p, tt.tag); err != tt.err {
			t.Errorf("Put(%v, %d) = %v, want %v", tt.p, tt.tag, err, tt.err)
		}
		ix.Set(1, tt.p, tt.tag) // ignored
	}
	if p, tag, ok := ix.Get(1); !ok || p != county || tag != 2 || ix.Len() != 1 {
		t.Fatalf("after rejected puts: Get = %v %d %v, Len %d; want unchanged", p, tag, ok, ix.Len())
	}
	if _, _, ok := ix.Get(2); ok {
		t.Fatalf("Get of an absent member succeeded")
	}
	ix.Remove(2) // absent: no effect
	if ix.Len() != 1 {
		t.Fatalf("Len = %d after removing an absent member", ix.Len())
	}
	// Same leaf, new tag: counts follow.
	ix.Set(1, local(county, 1, 1), 5)
	pop := population{1: {local(county, 1, 1), 5}}
	checkIndex(t, ix, pop)
	if n := ix.Count(mustCompile(t, circleArea(county, 10)), 1<<5); n != 1 {
		t.Fatalf("Count by new tag = %d, want 1", n)
	}
	if n := ix.Count(mustCompile(t, circleArea(county, 10)), 1<<2); n != 0 {
		t.Fatalf("Count by old tag = %d, want 0", n)
	}
}

func TestQueryNilAndEmptyMask(t *testing.T) {
	t.Parallel()
	ix := NewIndex()
	ix.Set(1, county, 0)
	r := mustCompile(t, circleArea(county, 100))
	if got := ix.Query(r, 0, []uint32{7}); !slices.Equal(got, []uint32{7}) {
		t.Fatalf("Query with empty mask changed dst: %v", got)
	}
	if got := ix.Query(nil, allTags, nil); got != nil {
		t.Fatalf("Query(nil region) = %v", got)
	}
	if got := ix.Query(r, allTags, []uint32{7}); !slices.Equal(got, []uint32{7, 1}) {
		t.Fatalf("Query must append to dst: %v", got)
	}
	if ix.Count(nil, allTags) != 0 || ix.Count(r, 0) != 0 {
		t.Fatalf("Count with nil region or empty mask must be 0")
	}
}

func TestDensity(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	ix := NewIndex()
	members := villagePopulation(rng, county, 20000, 10, 100, 500, 300)
	for i, m := range members {
		ix.Set(uint32(i), m.p, m.tag)
	}
	for _, res := range []int{0, 3, 5, 7, 9, 10, 12} {
		d := ix.Density(res)
		sum := 0
		for s, n := range d {
			c, err := ParseCell(s)
			if err != nil || c.Resolution() != res || n <= 0 {
				t.Fatalf("Density(%d): bad entry %q=%d (%v)", res, s, n, err)
			}
			sum += n
		}
		if sum != len(members) {
			t.Fatalf("Density(%d) sums to %d, want %d", res, sum, len(members))
		}
		if res == 9 || res == 12 {
			want := map[string]int{}
			for _, m := range members {
				want[h3.LatLngToCell(h3.LatLng(m.p), res).String()]++
			}
			for s, n := range want {
				if d[s] != n {
					t.Fatalf("Density(%d)[%s] = %d, want %d", res, s, d[s], n)
				}
			}
		}
	}
	for _, res := range []int{-1, 16} {
		if d := ix.Density(res); len(d) != 0 {
			t.Fatalf("Density(%d) = %d cells, want none", res, len(d))
		}
	}
}

// TestQueryNoAlloc guards the claim that Query, Count and Contains do not
// allocate once dst has room.
func TestQueryNoAlloc(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	ix := NewIndex()
	for i, m := range villagePopulation(rng, county, 10000, 10, 200, 1000, 300) {
		ix.Set(uint32(i), m.p, m.tag)
	}
	circle := mustCompile(t, circleArea(county, 5000))
	poly := mustCompile(t, ringToArea(starRing(county, 8000, 3000, 6, 0)))
	dst := make([]uint32, 0, ix.Len())
	for _, r := range []*Region{circle, poly} {
		if n := testing.AllocsPerRun(20, func() { dst = ix.Query(r, allTags, dst[:0]) }); n != 0 {
			t.Errorf("Query allocates %v times per run", n)
		}
		if n := testing.AllocsPerRun(20, func() { _ = ix.Count(r, 0x05) }); n != 0 {
			t.Errorf("Count allocates %v times per run", n)
		}
		if n := testing.AllocsPerRun(100, func() { _ = r.Contains(county) }); n != 0 {
			t.Errorf("Contains allocates %v times per run", n)
		}
	}
	if len(dst) == 0 {
		t.Fatalf("test areas matched nobody")
	}
}
