package geo

import (
	"maps"
	"math/rand/v2"
	"testing"
)

// TestCountCellsMatchesIndexDensity: CountCells counts points in the very
// cells Index.Density counts them in, at every resolution, so that a
// cadre's map can take its village's counts out of the county's cell for
// cell (hub.Directory.SplitDensity) without leaving one of them to be
// taken for another village's member.
func TestCountCellsMatchesIndexDensity(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(13, 4))
	ix := NewIndex()
	pts := make([]LatLng, 3000)
	for i := range pts {
		pts[i] = LatLng{Lat: 28.9 + rng.Float64()*0.4, Lng: 119.0 + rng.Float64()*0.4}
		ix.Set(uint32(i), pts[i], 1)
	}
	for res := 0; res <= 11; res++ {
		if got, want := CountCells(pts, res), ix.Density(res); !maps.Equal(got, want) {
			t.Errorf("res %d: CountCells has %d cells, Index.Density %d, and they differ", res, len(got), len(want))
		}
	}
}
