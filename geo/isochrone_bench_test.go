package geo

import (
	"fmt"
	"testing"
)

// benchStart is the commander's point of the issue: in the demo county's
// town, 400 m north of the river and 1 km west of the centre bridge.
var benchStart = local(county, -1000, riverY(-1000)+400)

// BenchmarkIsochrone times an isochrone computed afresh (the cache bypassed)
// on the demo network, by mode and minutes. The target: a 15-minute
// drive in under 50 ms.
func BenchmarkIsochrone(b *testing.B) {
	n := demoNetwork(b)
	g := n.g
	s := g.locate(benchStart)
	for _, mode := range []string{ModeWalk, ModeBike, ModeMotorbike, ModeDrive} {
		for _, minutes := range []float64{5, 15, 30} {
			b.Run(fmt.Sprintf("%s/%vmin", mode, minutes), func(b *testing.B) {
				m, _ := parseMode(mode)
				src, d0 := g.source(s, benchStart, m)
				n.compute(s, src, d0, m, minutes) // size the pooled scratch
				b.ReportAllocs()
				var iso *Isochrone
				for b.Loop() {
					iso = n.compute(s, src, d0, m, minutes)
				}
				b.ReportMetric(float64(iso.Len()), "cells/op")
			})
		}
	}
}

// BenchmarkIsochroneCached is a cache hit: what a repeated preview costs.
func BenchmarkIsochroneCached(b *testing.B) {
	n := demoNetwork(b)
	n.Isochrone(benchStart, ModeDrive, 15)
	b.ReportAllocs()
	for b.Loop() {
		n.Isochrone(benchStart, ModeDrive, 15)
	}
}

// BenchmarkIsochroneParseDemo parses and rasterizes the demo network.
func BenchmarkIsochroneParseDemo(b *testing.B) {
	data := DemoNetwork(county)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseNetworkBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueryIsochroneDrive15 targets a 15-minute drive from the
// commander's point in the 1,000,000-member benchmark county.
func BenchmarkQueryIsochroneDrive15(b *testing.B) {
	n := demoNetwork(b)
	benchQuery(b, n.Isochrone(benchStart, ModeDrive, 15).Region())
}

// BenchmarkOutline traces an isochrone's outline afresh (the cached one
// bypassed), from the commander's point of the issue. The target: a
// 15-minute drive well under 50 ms.
func BenchmarkOutline(b *testing.B) {
	n := demoNetwork(b)
	for _, tc := range []struct {
		mode    string
		minutes float64
	}{{ModeWalk, 15}, {ModeDrive, 15}, {ModeMotorbike, 15}, {ModeDrive, 30}} {
		b.Run(fmt.Sprintf("%s/%vmin", tc.mode, tc.minutes), func(b *testing.B) {
			iso := n.Isochrone(benchStart, tc.mode, tc.minutes)
			b.ReportAllocs()
			var mp [][][][2]float64
			for b.Loop() {
				mp = iso.traceOutline()
			}
			pts := 0
			for _, poly := range mp {
				for _, r := range poly {
					pts += len(r)
				}
			}
			b.ReportMetric(float64(iso.Len()), "cells/op")
			b.ReportMetric(float64(pts), "points/op")
		})
	}
}
