package geo

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// benchMembers is the benchmark county: 1,000,000 members clustered around
// 2,000 village centres spread over a ~100 x 100 km square around 29.03N
// 119.17E (500 members per village, Gaussian spread of 300 m, so a village
// is about 1 km across).
const (
	benchMembers  = 1_000_000
	benchVillages = 2000
)

type benchFixture struct {
	ix       *Index
	villages []LatLng
	pts      []member
}

// benchIndex builds the 1M-member index once per test binary; the query
// benchmarks share it (they only read). Members are inserted from several
// goroutines, which also exercises the sharded write path.
var benchIndex = sync.OnceValue(func() *benchFixture {
	rng := rand.New(rand.NewPCG(2026, 1))
	f := &benchFixture{ix: NewIndex()}
	per := benchMembers / benchVillages
	for range benchVillages {
		vc := local(county, (2*rng.Float64()-1)*50000, (2*rng.Float64()-1)*50000)
		f.villages = append(f.villages, vc)
		for range per {
			f.pts = append(f.pts, member{local(vc, rng.NormFloat64()*300, rng.NormFloat64()*300), randTag(rng)})
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(f.pts) {
					return
				}
				f.ix.Set(uint32(i), f.pts[i].p, f.pts[i].tag)
			}
		})
	}
	wg.Wait()
	return f
})

func benchQuery(b *testing.B, r *Region) {
	f := benchIndex()
	b.ReportAllocs()
	dst := f.ix.Query(r, allTags, nil) // sized once, so the loop measures the query alone
	b.ResetTimer()
	for b.Loop() {
		dst = f.ix.Query(r, allTags, dst[:0])
	}
	b.ReportMetric(float64(len(dst)), "members/op")
}

func BenchmarkQueryCircle10km(b *testing.B) {
	benchQuery(b, mustCompile(b, circleArea(county, 10000)))
}

func BenchmarkCountCircle10km(b *testing.B) {
	f := benchIndex()
	r := mustCompile(b, circleArea(county, 10000))
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n = f.ix.Count(r, allTags)
	}
	b.ReportMetric(float64(n), "members/op")
}

// BenchmarkQueryReachWalk15 is a 15-minute walk (1,250 m) around the village
// nearest the county centre: the typical "everyone who can come" alert.
func BenchmarkQueryReachWalk15(b *testing.B) {
	f := benchIndex()
	c := f.villages[0]
	for _, v := range f.villages {
		if DistanceM(v, county) < DistanceM(c, county) {
			c = v
		}
	}
	benchQuery(b, mustCompile(b, Area{Reach: &Reach{Lat: c.Lat, Lng: c.Lng, Minutes: 15, Mode: ModeWalk}}))
}

func BenchmarkQueryPolygonStar(b *testing.B) {
	benchQuery(b, mustCompile(b, ringToArea(starRing(county, 15000, 5000, 12, 0.2))))
}

func BenchmarkQueryCircle100km(b *testing.B) {
	benchQuery(b, mustCompile(b, circleArea(county, 100000)))
}

// BenchmarkSet moves members of a separate 1M-member index (so the query
// fixture stays intact) by up to ~50 m, the usual live-position update, and
// every eighth one to another village.
func BenchmarkSet(b *testing.B) {
	src := benchIndex()
	ix := NewIndex()
	for i, m := range src.pts {
		ix.Set(uint32(i), m.p, m.tag)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	moves := make([]member, 4096)
	refs := make([]uint32, len(moves))
	for i := range moves {
		refs[i] = uint32(rng.IntN(benchMembers))
		p := src.pts[refs[i]].p
		if i%8 == 0 {
			p = src.pts[rng.IntN(benchMembers)].p
		}
		moves[i] = member{local(p, rng.NormFloat64()*30, rng.NormFloat64()*30), src.pts[refs[i]].tag}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		j := i % len(moves)
		ix.Set(refs[j], moves[j].p, moves[j].tag)
		i++
	}
}
