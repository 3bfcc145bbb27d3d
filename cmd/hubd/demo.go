package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/service/travel"
	"github.com/longyou/hub/storage"
)

// The demo county: five townships around Longyou (29.03 N, 119.17 E), five
// villages each, homes clustered around each village centre the way rural
// homes are (a dense core, a few outlying farms). Every record is flagged
// demo and every name carries "（演示）" so nobody mistakes it for real data.
var demoCenter = storage.LatLng{Lat: 29.03, Lng: 119.17}

// Patrols' and cadres' travel modes in the demo, in turn.
var demoPatrolModes = []string{geo.ModeWalk, geo.ModeBike, geo.ModeMotorbike}

var demoTownships = []struct {
	name     string
	lat, lng float64
}{
	{"东华街道", 29.035, 119.175},
	{"湖镇镇", 29.085, 119.080},
	{"溪口镇", 28.905, 119.210},
	{"詹家镇", 29.000, 119.060},
	{"横山镇", 29.090, 119.260},
}

var demoVillageNames = []string{"上圩", "下宅", "塘头", "山背", "溪边"}

const (
	demoResidentsPerVillage = 84 // 25 villages: 2,100 residents
	demoPatrolsPerVillage   = 2  // 50 patrols
	demoMarker              = "（演示）"
)

// seedDemo creates the demo county unless it exists, then prints a
// commander and a resident token: the same ones on every start while they
// are active (demoTokens keeps them in tokenFile), else new ones that
// revoke the previous.
func seedDemo(ctx context.Context, h *members.Service, tr *travel.Service, store storage.Store, publicURL, tokenFile string,
	log *slog.Logger, out io.Writer) error {
	// The demo travel network (a river with bridges, roads, hill paths),
	// unless a network was ever stored: an admin's own upload, or its
	// removal, is never overwritten.
	if _, err := store.NetworkHead(ctx); errors.Is(err, storage.ErrNotFound) {
		if _, _, err := tr.Put(ctx, geo.DemoNetwork(geo.LatLng{Lat: demoCenter.Lat, Lng: demoCenter.Lng}), service.Actor{ID: "demo"}); err != nil {
			return fmt.Errorf("demo travel network: %w", err)
		}
	} else if err != nil {
		return err
	}
	vs, err := store.ListVillages(ctx)
	if err != nil {
		return err
	}
	exists := false
	for _, v := range vs {
		exists = exists || v.Demo
	}
	if !exists {
		if err := createDemo(ctx, h); err != nil {
			return err
		}
	}
	var commander, resident *storage.Member
	for after := ""; commander == nil || resident == nil; {
		ms, err := store.ListMembers(ctx, after, 5000)
		if err != nil {
			return err
		}
		for i := range ms {
			m := &ms[i]
			switch {
			case !m.Demo:
			case m.Role == storage.RoleCommander && commander == nil:
				commander = m
			case m.Role == storage.RoleResident && resident == nil:
				resident = m
			}
		}
		if len(ms) < 5000 {
			break
		}
		after = ms[len(ms)-1].ID
	}
	if commander == nil || resident == nil {
		return fmt.Errorf("demo members are missing from the store")
	}
	ctoken, rtoken, err := demoTokens(ctx, h, tokenFile, commander, resident, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `
Demo county ready (all names marked %s).
  commander %s  token: %s
    command center: %s/?token=%s
  resident  %s  token: %s
    resident page:  %s/m?token=%s
`, demoMarker, commander.Name, ctoken, publicURL, ctoken, resident.Name, rtoken, publicURL, rtoken)
	return nil
}

func createDemo(ctx context.Context, h *members.Service) error {
	rng := rand.New(rand.NewPCG(2026, 11)) // the same county on every machine
	var reqs []members.Input
	phone := 0
	nextPhone := func() string { phone++; return fmt.Sprintf("+861390000%04d", phone) }
	for _, t := range demoTownships {
		for j, vname := range demoVillageNames {
			// Villages sit 2-5 km from the township seat.
			ang := float64(j)/float64(len(demoVillageNames))*2*math.Pi + rng.Float64()*0.5
			dist := 2000 + rng.Float64()*3000
			center := offset(t.lat, t.lng, dist*math.Cos(ang), dist*math.Sin(ang))
			v, err := h.CreateVillage(ctx, string([]rune(t.name)[:2])+vname+"村"+demoMarker, t.name, &center, true)
			if err != nil {
				return err
			}
			home := func() *storage.LatLng {
				// 85% within a few hundred metres of the centre, 15% farms
				// up to 1.5 km out.
				sigma := 250.0
				if rng.Float64() < 0.15 {
					sigma = 800
				}
				p := offset(center.Lat, center.Lng, rng.NormFloat64()*sigma, rng.NormFloat64()*sigma)
				return &p
			}
			address := func(k int) string { return fmt.Sprintf("%s%d组%d号", vname, k%6+1, k+1) }
			for k := range demoResidentsPerVillage {
				reqs = append(reqs, members.Input{Name: fmt.Sprintf("%s村民%02d%s", vname, k+1, demoMarker),
					Phone: nextPhone(), Role: storage.RoleResident, VillageID: v.ID, Home: home(), Address: address(k)})
			}
			for k := range demoPatrolsPerVillage {
				reqs = append(reqs, members.Input{Name: fmt.Sprintf("%s网格员%d%s", vname, k+1, demoMarker),
					Phone: nextPhone(), Role: storage.RolePatrol, VillageID: v.ID, Home: home(),
					Address: address(demoResidentsPerVillage + k), TravelMode: demoPatrolModes[(j+k)%len(demoPatrolModes)]})
			}
			reqs = append(reqs, members.Input{Name: vname + "村委干部" + demoMarker,
				Phone: nextPhone(), Role: storage.RoleCadre, VillageID: v.ID, Home: home(),
				Address: address(demoResidentsPerVillage + demoPatrolsPerVillage), TravelMode: geo.ModeDrive})
		}
	}
	reqs = append(reqs,
		members.Input{Name: "县应急指挥中心值班员" + demoMarker, Phone: nextPhone(), Role: storage.RoleCommander},
		members.Input{Name: "县应急指挥中心副值班员" + demoMarker, Phone: nextPhone(), Role: storage.RoleCommander},
	)
	_, err := h.Create(ctx, reqs, true)
	return err
}

// offset moves a point by north/east metres (small distances).
func offset(lat, lng, north, east float64) storage.LatLng {
	const r = 6371008.8
	dLat := north / r * 180 / math.Pi
	dLng := east / (r * math.Cos(lat*math.Pi/180)) * 180 / math.Pi
	return storage.LatLng{Lat: lat + dLat, Lng: lng + dLng}
}
