package credit

import (
	"fmt"
	"testing"

	"github.com/longyou/hub/policy"
)

// TestRank: places shared by equal totals, red from the top and black from
// the bottom with ties on or off together, never both.
func TestRank(t *testing.T) {
	for _, c := range []struct {
		name       string
		red, black int
		totals     []int
		want       string // place+board per household, in ranking order
	}{
		{"plain", 1, 1, []int{50, 90, 70}, "1red 2 3black"},
		{"ties at the top", 1, 1, []int{90, 90, 10, 50}, "1red 1red 3 4black"},
		{"ties at the bottom", 1, 1, []int{90, 10, 10, 50}, "1red 2 3black 3black"},
		{"all equal", 2, 2, []int{5, 5, 5}, "1red 1red 1red"},
		{"overlap", 2, 2, []int{3, 2, 1}, "1red 2red 3black"},
		{"no boards", 0, 0, []int{3, 2}, "1 2"},
		{"one household", 1, 1, []int{7}, "1red"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Service{pol: &policy.Credit{RedSize: c.red, BlackSize: c.black}}
			b := Board{}
			for i, tot := range c.totals {
				b.Ranking = append(b.Ranking, Place{HouseholdID: fmt.Sprint("h", i), Total: tot})
			}
			s.rank(&b)
			got := ""
			for i, p := range b.Ranking {
				if i > 0 {
					got += " "
				}
				got += fmt.Sprint(p.Place) + p.Board
				if i > 0 && p.Total > b.Ranking[i-1].Total {
					t.Errorf("ranking not by total: %+v", b.Ranking)
				}
			}
			if got != c.want {
				t.Errorf("ranked %v: %q, want %q", c.totals, got, c.want)
			}
			reds, blacks := 0, 0
			for _, p := range b.Ranking {
				switch p.Board {
				case BoardRed:
					reds++
				case BoardBlack:
					blacks++
				}
			}
			if reds != len(b.Red) || blacks != len(b.Black) {
				t.Errorf("boards %d/%d, marks %d/%d", len(b.Red), len(b.Black), reds, blacks)
			}
			for i := 1; i < len(b.Black); i++ {
				if b.Black[i].Total < b.Black[i-1].Total {
					t.Errorf("black board not lowest first: %+v", b.Black)
				}
			}
		})
	}
}
