package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// County centre used throughout the tests and benchmarks (docs/API.md's example).
var county = LatLng{29.03, 119.17}

const mPerDeg = EarthRadiusM * math.Pi / 180

// dest returns the point at distance d metres and bearing brg (radians,
// clockwise from north) from p on the sphere.
func dest(p LatLng, brg, d float64) LatLng {
	d /= EarthRadiusM
	la, lo := p.Lat*degToRad, p.Lng*degToRad
	la2 := math.Asin(math.Sin(la)*math.Cos(d) + math.Cos(la)*math.Sin(d)*math.Cos(brg))
	lo2 := lo + math.Atan2(math.Sin(brg)*math.Sin(d)*math.Cos(la), math.Cos(d)-math.Sin(la)*math.Sin(la2))
	lo2 = math.Remainder(lo2, 2*math.Pi)
	return LatLng{la2 * radToDeg, lo2 * radToDeg}
}

// local converts a metric offset (x east, y north) from origin into lat/lng
// with a flat approximation; good enough to build test shapes.
func local(origin LatLng, x, y float64) LatLng {
	return LatLng{origin.Lat + y/mPerDeg, origin.Lng + x/(mPerDeg*math.Cos(origin.Lat*degToRad))}
}

func ringToArea(ring []LatLng) Area {
	pts := make([][]float64, len(ring))
	for i, p := range ring {
		pts[i] = []float64{p.Lat, p.Lng}
	}
	return Area{Polygon: pts}
}

func mustCompile(t testing.TB, a Area) *Region {
	t.Helper()
	r, err := Compile(a)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", a, err)
	}
	return r
}

func circleArea(c LatLng, radiusM float64) Area {
	return Area{Circle: &Circle{Lat: c.Lat, Lng: c.Lng, RadiusM: radiusM}}
}

// Shapes. All are simple rings; sizes are metres.

func convexRing(rng *rand.Rand, c LatLng, radiusM float64, n int) []LatLng {
	angles := make([]float64, n)
	for i := range angles {
		angles[i] = (float64(i) + 0.8*rng.Float64()) * 2 * math.Pi / float64(n)
	}
	ring := make([]LatLng, n)
	for i, a := range angles {
		ring[i] = local(c, radiusM*math.Sin(a), radiusM*math.Cos(a))
	}
	return ring
}

// starRing alternates two radii: concave, with n spikes.
func starRing(c LatLng, outerM, innerM float64, spikes int, rot float64) []LatLng {
	ring := make([]LatLng, 0, 2*spikes)
	for i := range 2 * spikes {
		r := outerM
		if i%2 == 1 {
			r = innerM
		}
		a := rot + float64(i)*math.Pi/float64(spikes)
		ring = append(ring, local(c, r*math.Sin(a), r*math.Cos(a)))
	}
	return ring
}

// polarRing has random radii at sorted random angles: star-shaped around c,
// hence simple, and usually very concave.
func polarRing(rng *rand.Rand, c LatLng, maxM float64, n int) []LatLng {
	angles := make([]float64, n)
	for i := range angles {
		angles[i] = rng.Float64() * 2 * math.Pi
	}
	slices.Sort(angles)
	angles = slices.Compact(angles)
	ring := make([]LatLng, len(angles))
	for i, a := range angles {
		r := maxM * (0.1 + 0.9*rng.Float64())
		ring[i] = local(c, r*math.Sin(a), r*math.Cos(a))
	}
	return ring
}

// uRing is a U: a w x h rectangle with a notch of width w-2t from the top,
// rotated by rot.
func uRing(c LatLng, w, h, thick, rot float64) []LatLng {
	pts := [][2]float64{{0, 0}, {w, 0}, {w, h}, {w - thick, h}, {w - thick, thick}, {thick, thick}, {thick, h}, {0, h}}
	ring := make([]LatLng, len(pts))
	s, co := math.Sin(rot), math.Cos(rot)
	for i, p := range pts {
		x, y := p[0]-w/2, p[1]-h/2
		ring[i] = local(c, x*co-y*s, x*s+y*co)
	}
	return ring
}

// edgeProbes returns points exactly on vertices, on edges (interpolated) and
// 1 m either side of each edge's midpoint along its normal, with the side
// each offset point is on: in[i] is true for the point offset towards the
// ring's interior (for a convex ring that point is inside).
func edgeProbes(ring []LatLng, maxEdges int) (onEdge []LatLng, off []LatLng, in []bool) {
	area := ringArea2(ring)
	n := len(ring)
	step := max(1, n/maxEdges)
	for i := 0; i < n; i += step {
		a, b := ring[i], ring[(i+1)%n]
		onEdge = append(onEdge, a)
		for _, t := range []float64{0.5, 0.3, 0.999} {
			onEdge = append(onEdge, LatLng{a.Lat + t*(b.Lat-a.Lat), a.Lng + t*(b.Lng-a.Lng)})
		}
		m := LatLng{(a.Lat + b.Lat) / 2, (a.Lng + b.Lng) / 2}
		cosm := math.Cos(m.Lat * degToRad)
		dx, dy := (b.Lng-a.Lng)*cosm*mPerDeg, (b.Lat-a.Lat)*mPerDeg
		l := math.Hypot(dx, dy)
		nx, ny := -dy/l, dx/l // left normal: interior of a counter-clockwise ring
		if area < 0 {
			nx, ny = -nx, -ny
		}
		for _, s := range []float64{1, -1} {
			off = append(off, LatLng{m.Lat + s*ny/mPerDeg, m.Lng + s*nx/(cosm*mPerDeg)})
			in = append(in, s > 0)
		}
	}
	return onEdge, off, in
}

// population is the brute-force oracle: every member's position and tag.
type population map[uint32]member

type member struct {
	p   LatLng
	tag uint8
}

func (pop population) query(r *Region, mask uint8) []uint32 {
	var out []uint32
	for ref, m := range pop {
		if mask&(1<<m.tag) != 0 && r.Contains(m.p) {
			out = append(out, ref)
		}
	}
	slices.Sort(out)
	return out
}

// checkQuery compares Query and Count with the oracle.
func checkQuery(t *testing.T, ix *Index, pop population, r *Region, mask uint8, what string) int {
	t.Helper()
	return checkQueryWant(t, ix, pop, r, mask, what, pop.query(r, mask))
}

// checkMasks compares Query and Count with the oracle for several tag
// masks, testing Contains once per member.
func checkMasks(t *testing.T, ix *Index, pop population, r *Region, what string, masks ...uint8) int {
	t.Helper()
	in := pop.query(r, allTags)
	for _, mask := range masks {
		var want []uint32
		for _, ref := range in {
			if mask&(1<<pop[ref].tag) != 0 {
				want = append(want, ref)
			}
		}
		checkQueryWant(t, ix, pop, r, mask, what, want)
	}
	return len(in)
}

func checkQueryWant(t *testing.T, ix *Index, pop population, r *Region, mask uint8, what string, want []uint32) int {
	t.Helper()
	got := ix.Query(r, mask, nil)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		extra, missing := diff(got, want)
		for _, ref := range extra[:min(len(extra), 5)] {
			t.Errorf("%s: extra %d at %+v (dist from centre %.3f m)", what, ref, pop[ref].p, DistanceM(LatLng{r.lat, r.lng}, pop[ref].p))
		}
		for _, ref := range missing[:min(len(missing), 5)] {
			t.Errorf("%s: missing %d at %+v", what, ref, pop[ref].p)
		}
		t.Fatalf("%s mask %#x: Query returned %d members, oracle %d (%d extra, %d missing)", what, mask, len(got), len(want), len(extra), len(missing))
	}
	if c := ix.Count(r, mask); c != len(want) {
		t.Fatalf("%s mask %#x: Count = %d, want %d", what, mask, c, len(want))
	}
	return len(want)
}

func diff(got, want []uint32) (extra, missing []uint32) {
	for _, g := range got {
		if _, ok := slices.BinarySearch(want, g); !ok {
			extra = append(extra, g)
		}
	}
	for _, w := range want {
		if _, ok := slices.BinarySearch(got, w); !ok {
			missing = append(missing, w)
		}
	}
	if len(extra) == 0 && len(missing) == 0 && len(got) != len(want) {
		extra = append(extra, got...) // duplicates
	}
	return extra, missing
}

// checkIndex verifies the tree's invariants: counts add up on every path, no
// node is empty, every member is in the leaf of its res-9 cell in the shard
// of its res-5 ancestor, and the member directory agrees.
func checkIndex(t *testing.T, ix *Index, pop population) {
	t.Helper()
	seen := 0
	for si := range ix.shards {
		s := &ix.shards[si]
		s.mu.RLock()
		nroots := 0
		for base, root := range s.roots {
			if root == nil {
				continue
			}
			nroots++
			if cellBase(root.cell) != base || cellRes(root.cell) != 0 || root.parent != nil {
				t.Fatalf("shard %d: bad root %v at %d", si, root.cell, base)
			}
			if !slices.Contains(s.rootList, root) {
				t.Fatalf("shard %d: root %v not listed", si, root.cell)
			}
			seen += checkNode(t, s, si, root, pop)
		}
		if nroots != len(s.rootList) {
			t.Fatalf("shard %d: %d roots, %d listed", si, nroots, len(s.rootList))
		}
		s.mu.RUnlock()
	}
	if seen != len(pop) || ix.Len() != len(pop) {
		t.Fatalf("index holds %d members (Len %d), oracle %d", seen, ix.Len(), len(pop))
	}
	for ref, m := range pop {
		p, tag, ok := ix.Get(ref)
		if !ok || p != m.p || tag != m.tag {
			t.Fatalf("Get(%d) = %v %d %v, want %v %d", ref, p, tag, ok, m.p, m.tag)
		}
	}
}

func checkNode(t *testing.T, s *shard, si int, n *node, pop population) int {
	t.Helper()
	var sum [8]int32
	total := int32(0)
	if n.total <= 0 {
		t.Fatalf("empty node %v", n.cell)
	}
	if cellRes(n.cell) == indexRes {
		if n.kids != nil {
			t.Fatalf("leaf %v has children", n.cell)
		}
		mem := n.mem
		if mem == nil || len(mem.refs) != len(mem.tags) || len(mem.refs) != len(mem.pos) {
			t.Fatalf("leaf %v: bad member arrays", n.cell)
		}
		for i, ref := range mem.refs {
			p, tag := mem.pos[i], mem.tags[i]
			m, ok := pop[ref]
			if !ok || m.p != p || m.tag != tag {
				t.Fatalf("leaf %v holds %d at %v/%d, oracle %+v %v", n.cell, ref, p, tag, m, ok)
			}
			if c := h3.LatLngToCell(h3.LatLng(p), indexRes); c != n.cell || int(shardOf(c)) != si {
				t.Fatalf("member %d in leaf %v shard %d, belongs to %v shard %d", ref, n.cell, si, c, shardOf(c))
			}
			if sl := s.slots[ref]; sl.leaf != n || int(sl.idx) != i {
				t.Fatalf("slot of %d is %v/%d, want %v/%d", ref, sl.leaf.cell, sl.idx, n.cell, i)
			}
			sum[tag]++
			total++
		}
		if sum != n.tags || total != n.total {
			t.Fatalf("leaf %v counts %v/%d, entries say %v/%d", n.cell, n.tags, n.total, sum, total)
		}
		return int(total)
	}
	if n.kids == nil {
		t.Fatalf("inner node %v without children", n.cell)
	}
	members := 0
	for d, k := range n.kids {
		if k == nil {
			continue
		}
		if k.parent != n || cellParent(k.cell, cellRes(n.cell)) != n.cell || cellDigit(k.cell, cellRes(k.cell)) != d {
			t.Fatalf("node %v: bad child %v at digit %d", n.cell, k.cell, d)
		}
		members += checkNode(t, s, si, k, pop)
		for i := range sum {
			sum[i] += k.tags[i]
		}
		total += k.total
	}
	if sum != n.tags || total != n.total {
		t.Fatalf("node %v counts %v/%d, children say %v/%d", n.cell, n.tags, n.total, sum, total)
	}
	return members
}

// villagePopulation places members like the county: clusters (villages)
// with a Gaussian spread of spreadM around random centres in a square of
// half-size halfM around centre, plus uniform scattered members.
func villagePopulation(rng *rand.Rand, centre LatLng, halfM float64, villages, perVillage, scattered int, spreadM float64) []member {
	out := make([]member, 0, villages*perVillage+scattered)
	for range villages {
		vc := local(centre, (2*rng.Float64()-1)*halfM, (2*rng.Float64()-1)*halfM)
		for range perVillage {
			out = append(out, member{local(vc, rng.NormFloat64()*spreadM, rng.NormFloat64()*spreadM), randTag(rng)})
		}
	}
	for range scattered {
		out = append(out, member{local(centre, (2*rng.Float64()-1)*halfM, (2*rng.Float64()-1)*halfM), randTag(rng)})
	}
	return out
}

// randTag draws a role-like tag: mostly residents (0), some patrol, cadre,
// commander, admin.
func randTag(rng *rand.Rand) uint8 {
	switch x := rng.IntN(100); {
	case x < 85:
		return 0
	case x < 93:
		return 1
	case x < 98:
		return 2
	default:
		return uint8(3 + rng.IntN(5))
	}
}

func (m member) String() string { return fmt.Sprintf("%v/%d", m.p, m.tag) }
