package geo

import (
	"encoding/json"
	"math"
)

// DemoNetwork returns a synthetic travel network around center as GeoJSON,
// for hubd -demo (Longyou: 29.03N 119.17E). It spans about 40 x 24 km:
//
//   - a river (衢江) flowing east-west through the centre, meandering
//     ±300 m, drawn as a waterway line and, over its middle 20 km, as a
//     200 m wide water area; a stream joins it from the south hills;
//   - bridges kilometres apart (x = -12, -1 and +8 km east of center, a
//     footbridge at +3 km), a ford on a track at -17 km and stepping stones
//     on the stream;
//   - a trunk road along the north bank, a secondary road along the south
//     bank, tertiary roads north-south and east-west, a motorway with a
//     junction in the north, a town grid of residential streets north of the
//     river and village roads south of it;
//   - in the hills south of -4 km, switchback paths and a track, and a
//     reservoir;
//   - names, in Chinese as the county's users read them: the river, the
//     stream and the reservoir, the main roads and the bridges (衢江一桥...),
//     the town's streets, and place points for the town and some villages
//     and hamlets (for NearestPlace and the map).
//
// The same center always gives the same bytes.
func DemoNetwork(center LatLng) []byte {
	d := demo{c: center}
	d.build()
	b, err := json.Marshal(map[string]any{"type": "FeatureCollection", "features": d.features})
	if err != nil {
		panic(err) // only maps, strings and finite numbers
	}
	return b
}

type demo struct {
	c        LatLng
	features []demoFeature
}

type demoFeature struct {
	Type       string            `json:"type"`
	Properties map[string]string `json:"properties"`
	Geometry   demoGeometry      `json:"geometry"`
}

type demoGeometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

// at is the position x metres east and y metres north of the centre, as
// GeoJSON [lng, lat] rounded to 1e-7 degrees (1 cm).
func (d *demo) at(x, y float64) [2]float64 {
	lat := d.c.Lat + y/mPerDegree
	lng := d.c.Lng + x/(mPerDegree*math.Cos(d.c.Lat*degToRad))
	r := func(v float64) float64 { return math.Round(v*1e7) / 1e7 }
	return [2]float64{r(lng), r(lat)}
}

func (d *demo) line(props map[string]string, xy ...[2]float64) {
	pts := make([][2]float64, len(xy))
	for i, p := range xy {
		pts[i] = d.at(p[0], p[1])
	}
	d.features = append(d.features, demoFeature{"Feature", props, demoGeometry{"LineString", pts}})
}

func (d *demo) polygon(props map[string]string, ring [][2]float64) {
	pts := make([][2]float64, 0, len(ring)+1)
	for _, p := range ring {
		pts = append(pts, d.at(p[0], p[1]))
	}
	pts = append(pts, pts[0])
	d.features = append(d.features, demoFeature{"Feature", props, demoGeometry{"Polygon", [][][2]float64{pts}}})
}

// riverY is the river's centreline at x.
func riverY(x float64) float64 { return 300 * math.Sin(x/3000) }

// streamX is the stream's course at y (south of the river).
func streamX(y float64) float64 { return 4000 + 250*math.Sin(y/700) }

func road(class string, kv ...string) map[string]string {
	p := map[string]string{"highway": class}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return p
}

// span returns points along x from x0 to x1 every step metres at y = f(x).
func span(x0, x1, step float64, f func(float64) float64) [][2]float64 {
	var out [][2]float64
	for x := x0; x < x1; x += step {
		out = append(out, [2]float64{x, f(x)})
	}
	return append(out, [2]float64{x1, f(x1)})
}

func flat(y float64) func(float64) float64 { return func(float64) float64 { return y } }

func (d *demo) build() {
	// The river, its water area, the stream.
	d.line(map[string]string{"waterway": "river", "name": "衢江"}, span(-21000, 21000, 250, riverY)...)
	var bank [][2]float64
	north := span(-10000, 10000, 250, func(x float64) float64 { return riverY(x) + 100 })
	south := span(-10000, 10000, 250, func(x float64) float64 { return riverY(x) - 100 })
	bank = append(bank, north...)
	for i := len(south) - 1; i >= 0; i-- {
		bank = append(bank, south[i])
	}
	d.polygon(map[string]string{"natural": "water", "water": "river", "name": "衢江"}, bank)
	var stream [][2]float64
	for y := -12000.0; y < riverY(4000); y += 250 {
		stream = append(stream, [2]float64{streamX(y), y})
	}
	stream = append(stream, [2]float64{4000, riverY(4000)})
	d.line(map[string]string{"waterway": "stream", "name": "灵山港"}, stream...)

	// Valley roads along both banks.
	d.line(road("trunk", "name", "320国道", "ref", "G320"), span(-20000, 20000, 500, func(x float64) float64 { return riverY(x) + 1200 })...)
	d.line(road("secondary", "name", "沿江路"), span(-20000, 20000, 500, func(x float64) float64 { return riverY(x) - 1500 })...)

	// Roads crossing the river: the bridge, named apart, is the part within
	// 250 m of it.
	cross := func(x, y0, y1 float64, class, name, bridge string) {
		yr := riverY(x)
		d.line(road(class, "name", name), [2]float64{x, y0}, [2]float64{x, yr - 250})
		d.line(road(class, "name", bridge, "bridge", "yes", "layer", "1"), [2]float64{x, yr - 250}, [2]float64{x, yr + 250})
		d.line(road(class, "name", name), [2]float64{x, yr + 250}, [2]float64{x, y1})
	}
	cross(-12000, -6000, 10000, "secondary", "湖镇大道", "湖镇大桥")
	cross(-1000, -8000, 10000, "primary", "龙游大道", "衢江一桥")
	cross(8000, -6000, 10000, "secondary", "横山公路", "衢江二桥")
	cross(3000, riverY(3000)-1500, riverY(3000)+1200, "footway", "江滨步道", "衢江人行桥")
	// A ford on a track, the way OSM maps it: the track tagged ford=yes
	// where it crosses.
	yr := riverY(-17000)
	d.line(road("track"), [2]float64{-17000, yr - 1500}, [2]float64{-17000, yr - 60})
	d.line(road("track", "ford", "yes"), [2]float64{-17000, yr - 60}, [2]float64{-17000, yr + 60})
	d.line(road("track"), [2]float64{-17000, yr + 60}, [2]float64{-17000, yr + 1200})

	// The north: tertiary grid, a motorway with a junction, the town.
	for _, x := range []float64{-16000, -8000, 4000, 12000, 16000} {
		d.line(road("tertiary"), [2]float64{x, riverY(x) + 1200}, [2]float64{x, 10000})
	}
	d.line(road("tertiary", "name", "北环路"), span(-18000, 18000, 1000, flat(6000))...)
	d.line(road("motorway", "name", "杭金衢高速", "ref", "G60"), span(-20000, 20000, 1000, flat(8500))...)
	d.line(road("motorway_link"), [2]float64{-1000, 8500}, [2]float64{-600, 8200}, [2]float64{-1000, 7800})
	for x := -4000.0; x <= 4000; x += 400 {
		props := road("residential")
		switch x {
		case -2000:
			props["name"] = "西门街"
		case 0:
			props["name"] = "城中路"
		case 2000:
			props["name"] = "东门街"
		}
		d.line(props, [2]float64{x, riverY(x) + 1200}, [2]float64{x, 5000})
	}
	streets := []string{"荣昌路", "太平路", "兴龙路", "龙洲路", "文化路", "新华路", "翠光路", "东华路", "清风路"}
	for i, y := 0, 1600.0; y <= 5000; i, y = i+1, y+400 {
		d.line(road("residential", "name", streets[i]), [2]float64{-4000, y}, [2]float64{4000, y})
	}

	// The south: village roads, then hills.
	for _, x := range []float64{-15000, -8000, -4000, 2000, 6000, 12000, 17000} {
		d.line(road("unclassified"), [2]float64{x, riverY(x) - 1500}, [2]float64{x, -4000})
	}
	d.line(road("unclassified", "name", "山前村道"), span(-18000, 18000, 1000, flat(-4000))...)
	for _, x0 := range []float64{-14000, -9000, -5000, 1000, 7000, 11000, 15000} {
		pts := [][2]float64{{x0, -4000}}
		for i, y := 0, -4500.0; y >= -11500; i, y = i+1, y-500 {
			pts = append(pts, [2]float64{x0 + 300*float64(1-2*(i%2)), y})
		}
		d.line(road("path"), pts...)
	}
	d.line(road("track"), span(-16000, 16000, 500, func(x float64) float64 { return -7000 + 400*math.Sin(x/1500) })...)
	d.features = append(d.features, demoFeature{"Feature", map[string]string{"ford": "stepping_stones"},
		demoGeometry{"Point", d.at(streamX(-7000+400*math.Sin(4000/1500.0)), -7000+400*math.Sin(4000/1500.0))}})
	var res [][2]float64
	for a := 0.0; a < 2*math.Pi; a += math.Pi / 12 {
		res = append(res, [2]float64{-6000 + 900*math.Cos(a), -9000 + 500*math.Sin(a)})
	}
	d.polygon(map[string]string{"landuse": "reservoir", "name": "社阳水库"}, res)

	// Places: the town, villages and hamlets (no part in travel).
	for _, pl := range []struct {
		class, name string
		x, y        float64
	}{
		{"town", "龙游县城", 0, 3200},
		{"town", "湖镇", -12600, 2600},
		{"village", "横山村", 8500, -2600},
		{"village", "塔石村", -15400, -3100},
		{"hamlet", "下徐村", -7600, -3000},
		{"hamlet", "溪口村", 4700, -5200},
		{"hamlet", "社阳村", -5200, -7900},
		{"hamlet", "北山村", 12300, 7100},
		{"isolated_dwelling", "上圩头", -17300, -900},
	} {
		d.features = append(d.features, demoFeature{"Feature", map[string]string{"place": pl.class, "name": pl.name},
			demoGeometry{"Point", d.at(pl.x, pl.y)}})
	}
}
