package geo

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tri := [][]float64{{29, 119}, {29, 119.1}, {29.1, 119.05}}
	many := func(n int, closed bool) [][]float64 {
		var pts [][]float64
		for _, p := range convexRing(rand.New(rand.NewPCG(42, 0)), county, 20000, n) {
			pts = append(pts, []float64{p.Lat, p.Lng})
		}
		if closed {
			pts = append(pts, pts[0])
		}
		return pts
	}
	villages := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("v%d", i)
		}
		return out
	}
	tests := []struct {
		name  string
		area  Area
		field string // empty: valid
		want  *Area  // after Normalize, if it changes
	}{
		{name: "circle", area: Area{Circle: &Circle{29.03, 119.17, 3000}}},
		{name: "circle max radius", area: Area{Circle: &Circle{-90, 180, 100000}}},
		{name: "reach defaults", area: Area{Reach: &Reach{Lat: 29, Lng: 119}},
			want: &Area{Reach: &Reach{Lat: 29, Lng: 119, Minutes: 15, Mode: "walk"}}},
		{name: "reach bike", area: Area{Reach: &Reach{Lat: 29, Lng: 119, Minutes: 180, Mode: "bike"}}},
		{name: "reach motorbike", area: Area{Reach: &Reach{Lat: 29, Lng: 119, Minutes: 10, Mode: "motorbike"}}},
		{name: "reach drive no minutes", area: Area{Reach: &Reach{Lat: 29, Lng: 119, Mode: "drive"}},
			want: &Area{Reach: &Reach{Lat: 29, Lng: 119, Minutes: 15, Mode: "drive"}}},
		{name: "triangle", area: Area{Polygon: tri}},
		{name: "triangle closed", area: Area{Polygon: append(slices.Clone(tri), tri[0])}},
		{name: "triangle clockwise", area: Area{Polygon: [][]float64{tri[2], tri[1], tri[0]}}},
		{name: "1000 points", area: Area{Polygon: many(1000, false)}},
		{name: "1000 points closed", area: Area{Polygon: many(1000, true)}},
		{name: "U shape", area: ringToArea(uRing(county, 3000, 2000, 500, 0.4))},
		{name: "touching antimeridian", area: Area{Polygon: [][]float64{{10, 170}, {10, 180}, {20, 180}}}},
		{name: "villages dedupe", area: Area{Villages: []string{"a", "b", "a", "c", "b"}},
			want: &Area{Villages: []string{"a", "b", "c"}}},
		{name: "1000 villages plus duplicates", area: Area{Villages: append(villages(1000), "v7")}},

		{name: "nothing", area: Area{}, field: "area"},
		{name: "two kinds", area: Area{Circle: &Circle{29, 119, 10}, Villages: []string{"a"}}, field: "area"},
		{name: "circle lat", area: Area{Circle: &Circle{90.5, 119, 10}}, field: "area.circle.lat"},
		{name: "circle lng", area: Area{Circle: &Circle{29, -181, 10}}, field: "area.circle.lng"},
		{name: "circle lat NaN", area: Area{Circle: &Circle{math.NaN(), 119, 10}}, field: "area.circle.lat"},
		{name: "circle zero radius", area: Area{Circle: &Circle{29, 119, 0}}, field: "area.circle.radius_m"},
		{name: "circle negative radius", area: Area{Circle: &Circle{29, 119, -5}}, field: "area.circle.radius_m"},
		{name: "circle radius too big", area: Area{Circle: &Circle{29, 119, 100000.001}}, field: "area.circle.radius_m"},
		{name: "circle radius Inf", area: Area{Circle: &Circle{29, 119, math.Inf(1)}}, field: "area.circle.radius_m"},
		{name: "circle radius NaN", area: Area{Circle: &Circle{29, 119, math.NaN()}}, field: "area.circle.radius_m"},
		{name: "reach lng", area: Area{Reach: &Reach{Lat: 29, Lng: math.Inf(-1)}}, field: "area.reach.lng"},
		{name: "reach minutes", area: Area{Reach: &Reach{Lat: 29, Lng: 119, Minutes: 180.5}}, field: "area.reach.minutes"},
		{name: "reach negative minutes", area: Area{Reach: &Reach{Lat: 29, Lng: 119, Minutes: -1}}, field: "area.reach.minutes"},
		{name: "reach mode", area: Area{Reach: &Reach{Lat: 29, Lng: 119, Mode: "swim"}}, field: "area.reach.mode"},
		{name: "reach mode moto", area: Area{Reach: &Reach{Lat: 29, Lng: 119, Mode: "moto"}}, field: "area.reach.mode"},
		{name: "reach mode case", area: Area{Reach: &Reach{Lat: 29, Lng: 119, Mode: "Walk"}}, field: "area.reach.mode"},
		{name: "polygon empty", area: Area{Polygon: [][]float64{}}, field: "area.polygon"},
		{name: "polygon two points", area: Area{Polygon: tri[:2]}, field: "area.polygon"},
		{name: "polygon two points closed", area: Area{Polygon: [][]float64{tri[0], tri[1], tri[0]}}, field: "area.polygon"},
		{name: "polygon point with 3 numbers", area: Area{Polygon: [][]float64{tri[0], {29, 119, 5}, tri[2]}}, field: "area.polygon[1]"},
		{name: "polygon point with 1 number", area: Area{Polygon: [][]float64{tri[0], tri[1], {29}}}, field: "area.polygon[2]"},
		{name: "polygon lat", area: Area{Polygon: [][]float64{tri[0], tri[1], {-91, 119}}}, field: "area.polygon[2]"},
		{name: "polygon lng NaN", area: Area{Polygon: [][]float64{tri[0], {29, math.NaN()}, tri[2]}}, field: "area.polygon[1]"},
		{name: "polygon repeated point", area: Area{Polygon: [][]float64{tri[0], tri[1], tri[1], tri[2]}}, field: "area.polygon[2]"},
		{name: "polygon collinear", area: Area{Polygon: [][]float64{{29, 119}, {29, 119.1}, {29, 119.2}}}, field: "area.polygon"},
		{name: "polygon bow tie", area: Area{Polygon: [][]float64{{29, 119}, {29.1, 119.1}, {29, 119.1}, {29.1, 119}}}, field: "area.polygon"},
		{name: "polygon spike", area: Area{Polygon: [][]float64{{29, 119}, {29, 119.1}, {29.1, 119.1}, {29, 119.1}, {29.05, 119}}}, field: "area.polygon"},
		{name: "polygon fold back", area: Area{Polygon: [][]float64{{29, 119}, {29, 119.2}, {29, 119.1}, {29.1, 119.1}}}, field: "area.polygon"},
		{name: "polygon touching itself", area: Area{Polygon: [][]float64{{0, 0}, {0, 4}, {2, 2}, {4, 4}, {4, 0}, {2, 2}}}, field: "area.polygon"},
		{name: "polygon vertex on edge", area: Area{Polygon: [][]float64{{0, 0}, {0, 4}, {4, 4}, {4, 0}, {2, 2}, {0, 2}}}, field: "area.polygon"},
		{name: "polygon across antimeridian", area: Area{Polygon: [][]float64{{10, 170}, {10, -170}, {20, -170}, {20, 170}}}, field: "area.polygon[1]"},
		{name: "polygon closing edge across antimeridian", area: Area{Polygon: [][]float64{{10, -179}, {15, 0}, {20, 179}}}, field: "area.polygon[0]"},
		{name: "polygon 1001 points", area: Area{Polygon: many(1001, false)}, field: "area.polygon"},
		{name: "polygon 1001 points closed", area: Area{Polygon: many(1001, true)}, field: "area.polygon"},
		{name: "villages empty", area: Area{Villages: []string{}}, field: "area.villages"},
		{name: "village id empty", area: Area{Villages: []string{"a", ""}}, field: "area.villages[1]"},
		{name: "1001 villages", area: Area{Villages: villages(1001)}, field: "area.villages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := tt.area
			err := a.Normalize()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Normalize() = %v, want ok", err)
				}
				if tt.want != nil && !reflect.DeepEqual(a, *tt.want) {
					t.Fatalf("normalized to %+v, want %+v", a, *tt.want)
				}
				if err := a.Normalize(); err != nil {
					t.Fatalf("second Normalize() = %v, want ok (idempotent)", err)
				}
				if a.Geographic() {
					if _, err := Compile(a); err != nil {
						t.Fatalf("Compile after Normalize: %v", err)
					}
				} else if _, err := Compile(a); !errors.Is(err, ErrNotGeographic) {
					t.Fatalf("Compile(villages) = %v, want ErrNotGeographic", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Normalize() = %v, want a *FieldError for %s", err, tt.field)
			}
			if fe.Field != tt.field {
				t.Fatalf("Normalize() names field %q (%v), want %q", fe.Field, fe, tt.field)
			}
			if !strings.HasPrefix(fe.Error(), tt.field+": ") || fe.Msg == "" {
				t.Fatalf("error text %q should start with the field and explain", fe.Error())
			}
			if _, err := Compile(tt.area); err == nil {
				t.Fatalf("Compile accepted an area Normalize rejects")
			}
		})
	}
}

func TestNormalizeJSON(t *testing.T) {
	t.Parallel()
	var a Area
	if err := json.Unmarshal([]byte(`{"reach":{"lat":29.03,"lng":119.17}}`), &a); err != nil {
		t.Fatal(err)
	}
	if err := a.Normalize(); err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	b, _ := json.Marshal(a)
	if got, want := string(b), `{"reach":{"lat":29.03,"lng":119.17,"minutes":15,"mode":"walk"}}`; got != want {
		t.Fatalf("normalized JSON %s, want %s", got, want)
	}
	if !a.Geographic() || (Area{Villages: []string{"x"}}).Geographic() {
		t.Fatalf("Geographic is wrong")
	}
	// An explicit null polygon is not a polygon.
	a = Area{}
	if err := json.Unmarshal([]byte(`{"polygon":null,"circle":{"lat":1,"lng":2,"radius_m":3}}`), &a); err != nil {
		t.Fatal(err)
	}
	if err := a.Normalize(); err != nil {
		t.Fatalf("null polygon next to a circle: %v", err)
	}
}

func TestCompileDoesNotWriteCaller(t *testing.T) {
	t.Parallel()
	reach := &Reach{Lat: 29, Lng: 119}
	r, err := Compile(Area{Reach: reach})
	if err != nil {
		t.Fatal(err)
	}
	if *reach != (Reach{Lat: 29, Lng: 119}) {
		t.Fatalf("Compile changed the caller's reach to %+v", *reach)
	}
	if got := r.Area().Reach; got.Minutes != 15 || got.Mode != ModeWalk {
		t.Fatalf("compiled area %+v, want defaults filled", got)
	}
	if r.radiusM != 1250 {
		t.Fatalf("walk 15 min radius = %v, want 1250", r.radiusM)
	}
}

func TestReachRadiusM(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		min  float64
		mode string
		want float64
	}{
		{15, "walk", 1250},
		{15, "", 1250},
		{60, "bike", 15000},
		{30, "drive", 20000},
		{10, "motorbike", 5000},
		{60, "motorbike", 30000},
		{180, "drive", 120000},
		{0, "walk", 0},
		{-3, "walk", 0},
		{10, "fly", 0},
	} {
		if got := ReachRadiusM(tt.min, tt.mode); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("ReachRadiusM(%v, %q) = %v, want %v", tt.min, tt.mode, got, tt.want)
		}
	}
}
