package geo

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

func FuzzParseCell(f *testing.F) {
	for _, s := range []string{
		"8928308280fffff", "85283473fffffff", "8001fffffffffff", "8f2830828052d25", "08928308280fffff",
		"8928308280FFFFF", "", "0", "ffffffffffffffff", "0x8928308280fffff", "-1", "+8928308280fffff",
		" 8928308280fffff", "8928308280fffff0", "89283082_80ffff", "zz", "11223344556677889",
	} {
		f.Add(s)
	}
	for _, c := range h3.Res0Cells()[:5] {
		f.Add(c.String())
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCell(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCell) || c != 0 {
				t.Fatalf("ParseCell(%q) = %v, %v: failure must be ErrInvalidCell and zero", s, c, err)
			}
			return
		}
		if !c.IsValid() {
			t.Fatalf("ParseCell(%q) accepted invalid %v", s, c)
		}
		if got := strings.TrimLeft(strings.ToLower(s), "0"); got != c.String() {
			t.Fatalf("ParseCell(%q) = %v, which prints as %q", s, c, c.String())
		}
		back, err := ParseCell(c.String())
		if err != nil || back != c {
			t.Fatalf("round trip of %v: %v, %v", c, back, err)
		}
		_ = h3.CellToLatLng(c) // a valid cell must be usable
	})
}

// FuzzAreaNormalize feeds arbitrary JSON to the area decoder. Whatever
// Normalize accepts must compile, and Contains, Cells and an index query over
// the area must neither panic nor disagree with each other.
func FuzzAreaNormalize(f *testing.F) {
	for _, s := range []string{
		`{"circle":{"lat":29.03,"lng":119.17,"radius_m":3000}}`,
		`{"circle":{"lat":90,"lng":180,"radius_m":100000}}`,
		`{"circle":{"lat":0,"lng":-180,"radius_m":1e-9}}`,
		`{"reach":{"lat":29.03,"lng":119.17}}`,
		`{"reach":{"lat":-89.9,"lng":0,"minutes":180,"mode":"drive"}}`,
		`{"polygon":[[29,119],[29,119.1],[29.1,119.05]]}`,
		`{"polygon":[[29,119],[29,119.1],[29.1,119.05],[29,119]]}`,
		`{"polygon":[[10,170],[10,180],[20,180],[20,170]]}`,
		`{"polygon":[[85,-90],[85,0],[85,90],[89.9,0]]}`,
		`{"polygon":[[0,0],[0,4],[2,2],[4,4],[4,0],[2,2]]}`,
		`{"polygon":[[0,0],[1e-300,1e-300],[0,1e-300]]}`,
		`{"polygon":[[29,119],[29.1,119.1],[29,119.1],[29.1,119]]}`,
		`{"polygon":[]}`,
		`{"polygon":[[1]]}`,
		`{"villages":["a","b","a"]}`,
		`{"villages":[]}`,
		`{"circle":{"lat":1,"lng":2,"radius_m":3},"reach":{"lat":1,"lng":2}}`,
		`{"union":[{"circle":{"lat":29,"lng":119,"radius_m":300}},{"polygon":[[29,119],[29.1,119],[29.1,119.1]]}]}`,
		`{"union":[{"union":[{"circle":{"lat":1,"lng":2,"radius_m":3}}]}]}`,
		`{"union":[]}`,
		`{}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Area
		if json.Unmarshal(data, &a) != nil {
			return
		}
		if err := a.Normalize(); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" || !strings.HasPrefix(fe.Field, "area") {
				t.Fatalf("Normalize error %v is not a *FieldError naming an area field", err)
			}
			return
		}
		if err := a.Normalize(); err != nil {
			t.Fatalf("Normalize is not idempotent: %v", err)
		}
		if !a.Geographic() {
			return
		}
		r, err := Compile(a)
		if err != nil {
			t.Fatalf("Compile of a normalized area: %v", err)
		}
		// Probe points: the centre or vertices, their midpoints and
		// neighbours, and the poles and antimeridian.
		var pts []LatLng
		switch {
		case a.Circle != nil:
			pts = append(pts, LatLng{a.Circle.Lat, a.Circle.Lng})
		case a.Reach != nil:
			pts = append(pts, LatLng{a.Reach.Lat, a.Reach.Lng})
		default:
			for i, p := range a.Polygon {
				q := a.Polygon[(i+1)%len(a.Polygon)]
				pts = append(pts, LatLng{p[0], p[1]}, LatLng{(p[0] + q[0]) / 2, (p[1] + q[1]) / 2})
			}
		}
		for _, p := range slices.Clone(pts) {
			for _, d := range []float64{1e-9, 1e-4, 0.01, 1} {
				pts = append(pts, LatLng{math.Min(90, p.Lat+d), p.Lng}, LatLng{p.Lat, math.Max(-180, p.Lng-d)})
			}
		}
		pts = append(pts, LatLng{90, 0}, LatLng{-90, 0}, LatLng{0, 180}, LatLng{0, -180})
		if len(pts) > 60 {
			pts = pts[:60]
		}
		ix := NewIndex()
		pop := population{}
		for i, p := range pts {
			r.Contains(p)
			if p.Valid() {
				ix.Set(uint32(i), p, uint8(i%8))
				pop[uint32(i)] = member{p, uint8(i % 8)}
			}
		}
		want := pop.query(r, allTags)
		got := ix.Query(r, allTags, nil)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("Query %v, brute force %v", got, want)
		}
		if len(a.Polygon) <= 50 {
			_ = r.Cells()
		}
	})
}
