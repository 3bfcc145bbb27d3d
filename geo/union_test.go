package geo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randomShape is randomRegion without reach: a union's parts are circles
// and polygons.
func randomShape(rng *rand.Rand) (Area, string) {
	for {
		i := rng.IntN(9)
		if i != 3 {
			return randomRegion(rng, i)
		}
	}
}

// A union's Query is the union of its parts' queries, and equals the
// brute-force oracle; members on a part's edge are in the union.
func TestUnionQueryMatchesParts(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	ix := NewIndex()
	pop := population{}
	for i, m := range villagePopulation(rng, county, 20000, 30, 250, 5000, 400) {
		ix.Set(uint32(i), m.p, m.tag)
		pop[uint32(i)] = m
	}
	matched := 0
	for i := range 40 {
		n := 1 + rng.IntN(5)
		var u Area
		var names []string
		for range n {
			a, what := randomShape(rng)
			u.Union = append(u.Union, a)
			names = append(names, what)
		}
		what := fmt.Sprintf("union %d of %s", i, strings.Join(names, " + "))
		r := mustCompile(t, u)
		want := map[uint32]bool{}
		for j, part := range u.Union {
			pr := mustCompile(t, part)
			for _, ref := range ix.Query(pr, allTags, nil) {
				want[ref] = true
			}
			pts, in := probes(rng, part, pr)
			for k, p := range pts {
				if in[k] == 1 && !r.Contains(p) {
					t.Fatalf("%s: a point inside part %d (%v) is not in the union", what, j, p)
				}
			}
		}
		got := ix.Query(r, allTags, nil)
		slices.Sort(got)
		wantList := make([]uint32, 0, len(want))
		for ref := range want {
			wantList = append(wantList, ref)
		}
		slices.Sort(wantList)
		if !slices.Equal(got, wantList) {
			t.Fatalf("%s: Query found %d members, the union of the parts' queries %d", what, len(got), len(wantList))
		}
		matched += checkMasks(t, ix, pop, r, what, allTags, uint8(1+rng.IntN(255)))
		if cells := r.Cells(); len(cells) == 0 {
			t.Fatalf("%s: no preview cells", what)
		}
	}
	if matched < 5000 {
		t.Fatalf("only %d members matched over all unions: areas too small to test much", matched)
	}
}

func TestUnionValidation(t *testing.T) {
	circle := &Circle{Lat: 29.03, Lng: 119.17, RadiusM: 500}
	square := [][]float64{{29.0, 119.1}, {29.1, 119.1}, {29.1, 119.2}, {29.0, 119.2}}
	for _, tc := range []struct {
		name  string
		area  Area
		field string
	}{
		{"empty", Area{Union: []Area{}}, "area.union"},
		{"with a circle beside it", Area{Union: []Area{{Circle: circle}}, Circle: circle}, "area"},
		{"a reach part", Area{Union: []Area{{Circle: circle}, {Reach: &Reach{Lat: 29, Lng: 119}}}}, "area.union[1]"},
		{"a nested union", Area{Union: []Area{{Union: []Area{{Circle: circle}}}}}, "area.union[0]"},
		{"an empty part", Area{Union: []Area{{}}}, "area.union[0]"},
		{"a bad radius", Area{Union: []Area{{Polygon: square}, {Circle: &Circle{Lat: 29, Lng: 119, RadiusM: -1}}}}, "area.union[1].circle.radius_m"},
		{"a bad point", Area{Union: []Area{{Polygon: [][]float64{{29, 119}, {95, 119}, {29.1, 119.1}}}}}, "area.union[0].polygon[1]"},
		{"too many parts", Area{Union: slices.Repeat([]Area{{Circle: circle}}, MaxUnionParts+1)}, "area.union"},
	} {
		err := tc.area.Normalize()
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != tc.field {
			t.Errorf("%s: err %v, want a FieldError on %s", tc.name, err, tc.field)
		}
		if _, err := Compile(tc.area); err == nil {
			t.Errorf("%s: Compile accepted it", tc.name)
		}
	}
	var a Area
	if err := json.Unmarshal([]byte(`{"union":[{"circle":{"lat":29.03,"lng":119.17,"radius_m":500}},{"polygon":[[29.0,119.1],[29.1,119.1],[29.1,119.2]]}]}`), &a); err != nil {
		t.Fatal(err)
	}
	r, err := Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Geographic() || !r.Contains(LatLng{29.03, 119.17}) || !r.Contains(LatLng{29.05, 119.12}) || r.Contains(LatLng{29.2, 119.3}) {
		t.Errorf("union of a circle and a triangle: wrong membership")
	}
	// Compile copies: the caller's circle is never the region's.
	if &r.Area().Union[0].Circle == &a.Union[0].Circle || r.Area().Union[0].Circle == a.Union[0].Circle {
		t.Errorf("Compile shares the caller's union")
	}
}
