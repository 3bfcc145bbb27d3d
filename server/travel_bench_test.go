package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// BenchmarkPreviewReach times a reach preview (compile, target, count
// online, outline) over the demo travel network against the same preview
// without a network (the straight-line circle), with 20,000 members
// scattered over 20 x 20 km around the demo county's centre, a tenth of
// them patrols with a travel mode of their own. The isochrone cache is
// warm after the first iteration (the same point each time), as it is
// for a commander adjusting a draft; "cold" moves the point each time.
//
//	go test -run xxx -bench PreviewReach -benchtime 20x ./server/
func BenchmarkPreviewReach(b *testing.B) {
	e := newEnv(b, func(c *Config) { c.Logger = testLogger(b) })
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	modes := []string{geo.ModeWalk, geo.ModeBike, geo.ModeMotorbike, geo.ModeDrive}
	reqs := make([]members.Input, n)
	for i := range reqs {
		p := storage.LatLng{Lat: 29.03 + (rng.Float64()-0.5)*0.18, Lng: 119.17 + (rng.Float64()-0.5)*0.21}
		reqs[i] = members.Input{Name: fmt.Sprint("m", i), Phone: fmt.Sprintf("+8616%09d", i), Role: storage.RoleResident,
			VillageID: e.villages[0].ID, Home: &p}
		if i%10 == 0 {
			reqs[i].Role, reqs[i].TravelMode = storage.RolePatrol, modes[i/10%len(modes)]
		}
	}
	if _, err := e.h.members.Create(ctx, reqs, false); err != nil {
		b.Fatal(err)
	}
	draft := func(lat float64, mode string) alerting.Draft {
		return alerting.Draft{Kind: "mobilization", Severity: "severe", Title: "t", Body: "b",
			Area: &geo.Area{Reach: &geo.Reach{Lat: lat, Lng: 119.16, Minutes: 15, Mode: mode}}}
	}
	run := func(b *testing.B, mode string, cold bool) {
		targeted := 0
		for i := 0; b.Loop(); i++ {
			lat := 29.045
			if cold {
				lat += float64(i) * 0.0004 // 44 m: another start cell
			}
			pv, err := e.h.alerting.Preview(ctx, draft(lat, mode))
			if err != nil {
				b.Fatal(err)
			}
			targeted = pv.Targeted
		}
		b.ReportMetric(float64(targeted), "targeted")
	}
	for _, mode := range []string{geo.ModeWalk, geo.ModeDrive} {
		b.Run("circle/"+mode, func(b *testing.B) { run(b, mode, false) })
	}
	if _, _, err := e.h.travel.Put(ctx, geo.DemoNetwork(geo.LatLng{Lat: 29.03, Lng: 119.17}), service.Actor{ID: "bench"}); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{geo.ModeWalk, geo.ModeDrive} {
		b.Run("network/"+mode, func(b *testing.B) { run(b, mode, false) })
		b.Run("network-cold/"+mode, func(b *testing.B) { run(b, mode, true) })
	}
}
