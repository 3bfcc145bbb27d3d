package members

import "github.com/longyou/hub/service"

// What a cadre sees of the members outside its village on the density map
// (docs/API.md v1.4): counts that cannot pin a person. Resolution 7 cells
// are about 5 km² (1.2 km edge), the scale of a hamlet, not of a house;
// a cell with fewer than OthersMinCount members of other villages is left
// out, so no cell shown holds a single person or a household. Live
// positions count only inside these cells, never at a finer resolution.
const (
	OthersMaxRes   = 7
	OthersMinCount = 5
)

// VillageDensity is the density map of a village's cadre.
type VillageDensity struct {
	Res int
	// Cells counts the village's own members at Res, each at its
	// effective position (live if fresh, else home), as the cadre may see
	// them one by one anyway.
	Cells map[string]int
	// OthersRes is min(Res, OthersMaxRes).
	OthersRes int
	// Others counts every member of other villages at OthersRes; cells with
	// fewer than OthersMinCount of them are left out.
	Others map[string]int
}

// DensityFor is the density map as a cadre of village may see it: its
// own members at res (4 to 9), the others coarse and thinned.
func (s *Service) DensityFor(res int, village string) (VillageDensity, error) {
	if res < 4 || res > 9 {
		return VillageDensity{}, service.Invalid("res must be an integer from 4 to 9")
	}
	d := VillageDensity{Res: res, OthersRes: min(res, OthersMaxRes)}
	d.Cells, d.Others = s.dir.SplitDensity(village, res, d.OthersRes, s.now())
	for c, n := range d.Others {
		if n < OthersMinCount {
			delete(d.Others, c)
		}
	}
	return d, nil
}
