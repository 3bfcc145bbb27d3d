package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// The simulated county: villages on a grid around Longyou's seat, members
// clustered around their village, about one patrol per 40 residents.
var countyCenter = latLng{Lat: 29.03, Lng: 119.17}

const (
	membersPerVillage = 800    // a typical administrative village's registered members
	villageSpacingM   = 3500.0 // between village centers
	homeSigmaM        = 400.0  // spread of homes around their village
	homeMaxM          = 1200.0
	patrolEvery       = 41 // one patrol, then 40 residents
	earthRadiusM      = 6371008.8
)

// memberSet is the members.json file: what was created, with tokens, so
// later runs skip creation.
type memberSet struct {
	Version   int         `json:"version"`
	CreatedAt time.Time   `json:"created_at"`
	Target    string      `json:"target"` // where they were created
	Nonce     string      `json:"nonce"`
	Origin    *latLng     `json:"origin,omitempty"` // center of the village grid
	Villages  []village   `json:"villages"`
	Members   []simMember `json:"members"`
}

type simMember struct {
	ID      string `json:"id"`
	Token   string `json:"token"`
	Role    string `json:"role"`
	Village int    `json:"village"` // index into Villages
	Home    latLng `json:"home"`
}

func loadMembers(path string) (*memberSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s memberSet
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("%s: unknown version %d", path, s.Version)
	}
	return &s, nil
}

// save writes the set atomically, readable only by its owner (it holds
// tokens).
func (s *memberSet) save(path string) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".members-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// offset moves p by north and east metres.
func offset(p latLng, north, east float64) latLng {
	const mPerDeg = earthRadiusM * math.Pi / 180
	return latLng{Lat: p.Lat + north/mPerDeg, Lng: p.Lng + east/(mPerDeg*math.Cos(p.Lat*math.Pi/180))}
}

// distance is the great-circle distance in metres, as the hub computes it.
func distance(a, b latLng) float64 {
	const rad = math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLng := (b.Lng - a.Lng) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(h)))
}

// villageCenter places village j of a grid of cols columns around origin,
// with some jitter.
func villageCenter(origin latLng, j, cols int, rng *rand.Rand) latLng {
	row, col := j/cols, j%cols
	half := float64(cols-1) / 2
	north := (float64(row)-half)*villageSpacingM + (rng.Float64()-0.5)*1000
	east := (float64(col)-half)*villageSpacingM + (rng.Float64()-0.5)*1000
	return offset(origin, north, east)
}

// homeNear draws a home around a village center.
func homeNear(c latLng, rng *rand.Rand) latLng {
	for {
		n, e := rng.NormFloat64()*homeSigmaM, rng.NormFloat64()*homeSigmaM
		if math.Hypot(n, e) <= homeMaxM {
			return offset(c, n, e)
		}
	}
}

// creator makes villages and members through the API.
type creator struct {
	api     *apiClient
	set     *memberSet
	rng     *rand.Rand
	created atomic.Int64
	errs    *errCounter
}

// ensureMembers returns a set of at least n members: the saved one, topped
// up when it is short, or a new one, and how many it created. It writes
// the file when it created any.
func ensureMembers(ctx context.Context, api *apiClient, path string, n, conc int, errs *errCounter, prog *progress) (*memberSet, int, error) {
	set := &memberSet{Version: 1, CreatedAt: time.Now().UTC(), Target: api.base}
	if path != "" {
		s, err := loadMembers(path)
		switch {
		case err == nil:
			set = s
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, 0, err
		}
	}
	if len(set.Members) >= n {
		return set, 0, nil
	}
	before := len(set.Members)
	if set.Nonce == "" {
		set.Nonce = fmt.Sprintf("%04x", rand.IntN(1<<16))
	}
	c := &creator{api: api, set: set, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), errs: errs}
	prog.set("create", int64(n-len(set.Members)), c.created.Load)
	err := c.create(ctx, n, conc)
	if path != "" && len(set.Members) > 0 {
		if serr := set.save(path); serr != nil && err == nil {
			err = serr
		}
	}
	return set, len(set.Members) - before, err
}

func (c *creator) create(ctx context.Context, n, conc int) error {
	s := c.set
	nv := max(3, (n+membersPerVillage-1)/membersPerVillage)
	cols := int(math.Ceil(math.Sqrt(float64(nv))))
	if s.Origin == nil {
		// Each set's grid is shifted at random by up to 8 km, so that sets
		// made by different runs on one hub seldom share an alert circle.
		o := offset(countyCenter, (c.rng.Float64()-0.5)*16000, (c.rng.Float64()-0.5)*16000)
		s.Origin = &o
	}
	for j := len(s.Villages); j < nv; j++ {
		center := villageCenter(*s.Origin, j, cols, c.rng)
		v, err := c.api.createVillage(ctx, fmt.Sprintf("压测村%s-%d", s.Nonce, j+1), "压测镇", center)
		if err != nil {
			c.count(err)
			return fmt.Errorf("create village: %w", err)
		}
		s.Villages = append(s.Villages, v)
	}
	first := len(s.Members)
	todo := make([]simMember, n-first)
	for k := range todo {
		i := first + k
		role := "resident"
		if i%patrolEvery == patrolEvery-1 {
			role = "patrol"
		}
		vi := i % len(s.Villages)
		todo[k] = simMember{Role: role, Village: vi, Home: homeNear(s.Villages[vi].Center, c.rng)}
	}
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	jobs := make(chan int)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range max(conc, 1) {
		wg.Go(func() {
			for k := range jobs {
				if err := c.createOne(cctx, first+k, &todo[k]); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					errMu.Unlock()
				}
			}
		})
	}
feed:
	for k := range todo {
		select {
		case jobs <- k:
		case <-cctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	// Keep every member that exists, in order, so the file matches the hub.
	for _, m := range todo {
		if m.ID == "" {
			break
		}
		s.Members = append(s.Members, m)
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// createOne creates member i with a phone unique to this set; a phone that
// is taken (by an earlier run) is replaced by a random one.
func (c *creator) createOne(ctx context.Context, i int, m *simMember) error {
	label := "居民"
	if m.Role == "patrol" {
		label = "网格员"
	}
	req := &newMemberReq{
		Name: fmt.Sprintf("压测%s%d", label, i+1), Role: m.Role,
		VillageID: c.set.Villages[m.Village].ID, Home: &m.Home,
		// +86 19x: the nonce's low 3 digits, then the index.
		Phone: fmt.Sprintf("+8619%03d%06d", nonceDigits(c.set.Nonce), i%1000000),
	}
	for attempt := 0; ; attempt++ {
		id, tok, err := c.api.createMember(ctx, req)
		if err == nil {
			m.ID, m.Token = id, tok
			c.created.Add(1)
			return nil
		}
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusConflict && attempt < 5 {
			req.Phone = fmt.Sprintf("+8619%09d", rand.IntN(1e9))
			continue
		}
		c.count(err)
		return err
	}
}

func (c *creator) count(err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		c.errs.add(ae.kind(), 1)
		return
	}
	if !errors.Is(err, context.Canceled) {
		c.errs.add("api_create_failed", 1)
	}
}

func nonceDigits(nonce string) int {
	var v int
	_, _ = fmt.Sscanf(nonce, "%x", &v)
	return v % 1000
}
