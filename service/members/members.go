// Package members is the member service: villages, members and their
// tokens, authentication, live positions, media uploads and the density
// map.
package members

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Store is what the member service reads and writes.
type Store interface {
	CreateVillage(ctx context.Context, v *storage.Village) error
	ListVillages(ctx context.Context) ([]storage.Village, error)
	CreateMembers(ctx context.Context, ms []storage.NewMember) error
	GetMember(ctx context.Context, id string) (storage.Member, error)
	GetMembers(ctx context.Context, ids []string) ([]storage.Member, error)
	UpdateMember(ctx context.Context, id string, u storage.MemberUpdate) (storage.Member, error)
	MemberByToken(ctx context.Context, tokenHash []byte) (storage.Member, error)
	AddToken(ctx context.Context, memberID string, tokenHash []byte) error
	CountMembers(ctx context.Context, role storage.Role) (int, error)
	SetLivePosition(ctx context.Context, memberID string, p storage.Position) error
	PutMediaWithin(ctx context.Context, m storage.Media, data []byte, q storage.MediaQuota) error
	GetMedia(ctx context.Context, id string) (storage.Media, []byte, error)
	TokenStore
	RosterStore
	storage.Households
	ExportMember(ctx context.Context, id string) (storage.MemberData, error)
	EraseMember(ctx context.Context, id string, at time.Time) (storage.Erasure, error)
}

// Config configures the Service.
type Config struct {
	Store  Store     // required
	Node   *hub.Node // required
	Logger *slog.Logger
	// Moved is called when a member is created or sends a live position,
	// so that active alerts covering it now address it (alerting).
	Moved func(ctx context.Context, memberID string)
	// Located, when not nil, is called with every live position a member
	// sends, after it is stored (v1.6: the patrol service records it in
	// the member's open round).
	Located func(ctx context.Context, memberID string, pos storage.Position)
	// Policy holds the rate limits of uploads and live positions, read
	// with the node's clock. Nil means policy.Default().
	Policy *policy.Policy
	// StaffTokenTTL is how long the tokens of cadres, commanders and
	// admins last (tokens.go). Zero means 90 days; negative means they
	// do not expire.
	StaffTokenTTL time.Duration
	// TokenCheckInterval is how often RunTokens checks the tokens of this
	// node's WebSockets and records tokens' last use. Zero means 3 s.
	TokenCheckInterval time.Duration
	// Media bounds uploads (quotas, pixels); zero fields pick defaults.
	Media MediaLimits
}

// Service is the member service.
type Service struct {
	store  Store
	node   *hub.Node
	dir    *hub.Directory
	log    *slog.Logger
	moved  func(ctx context.Context, memberID string)
	limits *service.Limiter
	tok    *tokenState
	media  MediaLimits
	// cleaning holds a token per image being cleaned (media.go).
	cleaning chan struct{}
	// located is Config.Located (nil: none).
	located func(ctx context.Context, memberID string, pos storage.Position)
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Moved == nil {
		cfg.Moved = func(context.Context, string) {}
	}
	if cfg.Policy == nil {
		p := policy.Default()
		cfg.Policy = &p
	}
	cfg.Media.setDefaults()
	return &Service{store: cfg.Store, node: cfg.Node, dir: cfg.Node.Directory(), log: cfg.Logger,
		moved: cfg.Moved, limits: service.NewLimiter(cfg.Policy, cfg.Node.Now), tok: newTokenState(&cfg),
		media: cfg.Media, cleaning: make(chan struct{}, 2), located: cfg.Located}
}

func (s *Service) now() time.Time { return s.node.Now() }

// Authenticate finds the member holding a bearer token; unauthorized when
// none does or the token is revoked or expired (SignIn).
func (s *Service) Authenticate(ctx context.Context, token string) (storage.Member, error) {
	m, _, err := s.SignIn(ctx, token)
	s.fresh(&m)
	return m, err
}

// CreateVillage validates and stores a village.
func (s *Service) CreateVillage(ctx context.Context, name, township string, center *storage.LatLng, demo bool) (storage.Village, error) {
	return s.CreateVillageCode(ctx, name, township, "", center, demo)
}

// CreateVillageCode is CreateVillage with an administrative division code
// ("" for none; docs/API.md v1.5).
func (s *Service) CreateVillageCode(ctx context.Context, name, township, code string, center *storage.LatLng, demo bool) (storage.Village, error) {
	if err := CheckVillageCode(code); err != nil {
		return storage.Village{}, err
	}
	if err := service.CheckText("name", name, 100, false); err != nil {
		return storage.Village{}, err
	}
	if err := service.CheckText("township", township, 100, true); err != nil {
		return storage.Village{}, err
	}
	if err := service.CheckLatLng("center", center, false); err != nil {
		return storage.Village{}, err
	}
	v := storage.Village{ID: service.NewID("v_"), Name: name, Township: township, Center: *center, Demo: demo,
		CreatedAt: s.now(), Code: code}
	if err := s.store.CreateVillage(ctx, &v); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return storage.Village{}, service.Errorf(service.CodeConflict, "a village with this code exists")
		}
		return storage.Village{}, err
	}
	s.dir.SetVillage(&v, v.CreatedAt)
	return v, nil
}

// Villages lists every village.
func (s *Service) Villages(ctx context.Context) ([]storage.Village, error) {
	return s.store.ListVillages(ctx)
}

// Input is a member to create.
type Input struct {
	Name      string
	Phone     string
	Role      storage.Role
	VillageID string
	Home      *storage.LatLng
	Lang      string
	// Address is the postal address people say (at most 200 characters).
	Address string
	// TravelMode is walk, bike, motorbike or drive; "" for none.
	TravelMode string
}

// MaxAddress is the longest address, in characters.
const MaxAddress = 200

// CheckTravelMode validates a member's travel mode ("" allowed).
func CheckTravelMode(mode string) error {
	switch mode {
	case "", geo.ModeWalk, geo.ModeBike, geo.ModeMotorbike, geo.ModeDrive:
		return nil
	}
	return service.Invalid("travel_mode must be walk, bike, motorbike or drive")
}

// Created is a created member with its one-time token.
type Created struct {
	Member storage.Member
	Token  string
	// TokenInfo is the token's metadata (its id, kind, expiry).
	TokenInfo storage.Token
}

// validate checks one member against the known villages.
func (in *Input) validate(villages map[string]bool) error {
	if err := service.CheckText("name", in.Name, 100, false); err != nil {
		return err
	}
	if !hub.ValidRole(in.Role) {
		return service.Invalid("role must be one of resident, patrol, cadre, commander, admin")
	}
	needsVillage := in.Role == storage.RoleResident || in.Role == storage.RolePatrol || in.Role == storage.RoleCadre
	if in.Phone == "" && needsVillage {
		return service.Invalid("phone is required for a %s", in.Role)
	}
	if in.Phone != "" && !notify.ValidE164(in.Phone) {
		return service.Invalid("phone must be E.164, like +8613800000000")
	}
	if in.VillageID == "" && needsVillage {
		return service.Invalid("village_id is required for a %s", in.Role)
	}
	if in.VillageID != "" && !villages[in.VillageID] {
		return service.Invalid("unknown village_id %q", in.VillageID)
	}
	if in.Lang != "" && in.Lang != "zh-CN" && in.Lang != "en" {
		return service.Invalid("lang must be zh-CN or en")
	}
	if err := service.CheckText("address", in.Address, MaxAddress, true); err != nil {
		return err
	}
	if err := CheckTravelMode(in.TravelMode); err != nil {
		return err
	}
	return service.CheckLatLng("home", in.Home, true)
}

// Create validates and stores members in one write, each with a new
// token, and adds them to the directory; demo marks them as demo data.
func (s *Service) Create(ctx context.Context, ins []Input, demo bool) ([]Created, error) {
	return s.create(ctx, ins, demo, "", storage.TokenMember, nil)
}

// CreateBy is Create by the member by (recorded as its tokens' creator).
func (s *Service) CreateBy(ctx context.Context, ins []Input, demo bool, by string) ([]Created, error) {
	return s.create(ctx, ins, demo, by, storage.TokenMember, nil)
}

// create is Create with the tokens' creator and kind, and their secrets
// (nil: new ones).
func (s *Service) create(ctx context.Context, ins []Input, demo bool, by, kind string, secrets []string) ([]Created, error) {
	vs, err := s.store.ListVillages(ctx)
	if err != nil {
		return nil, err
	}
	villages := make(map[string]bool, len(vs))
	for _, v := range vs {
		villages[v.ID] = true
	}
	now := s.now()
	rows := make([]storage.NewMember, len(ins))
	out := make([]Created, len(ins))
	for i := range ins {
		in := &ins[i]
		if err := in.validate(villages); err != nil {
			if len(ins) > 1 {
				return nil, fmt.Errorf("member %d: %w", i, err)
			}
			return nil, err
		}
		tok := service.NewToken()
		if secrets != nil {
			tok = secrets[i]
		}
		m := storage.Member{
			ID: service.NewID("m_"), Name: in.Name, Phone: in.Phone, Role: in.Role,
			VillageID: in.VillageID, Home: in.Home, Lang: in.Lang, Demo: demo, CreatedAt: now,
			Address: in.Address, TravelMode: in.TravelMode,
		}
		meta := s.newToken(m.ID, m.Role, kind, by, now, nil)
		rows[i] = storage.NewMember{Member: m, TokenHash: service.HashToken(tok), Token: &meta}
		out[i] = Created{Member: m, Token: tok}
	}
	if err := s.store.CreateMembers(ctx, rows); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, service.Errorf(service.CodeConflict, "a member with this phone number exists")
		}
		return nil, err
	}
	for i := range out {
		out[i].TokenInfo = *rows[i].Token
		s.dir.Add(&out[i].Member, now)
		s.moved(ctx, out[i].Member.ID)
	}
	return out, nil
}

// Update is a change to a member (PATCH /api/v1/members/{id}); nil fields
// are left as they are.
type Update struct {
	Address    *string
	TravelMode *string
	// Home: SetHome with Home nil removes the home position.
	SetHome bool
	Home    *storage.LatLng
}

// Update validates and stores a change to a member, then updates the
// directory (every node's, in a cluster) and runs the move-in checks of the
// active alerts, which a new home or travel mode may change.
func (s *Service) Update(ctx context.Context, id string, u Update) (storage.Member, error) {
	if u.Address != nil {
		if err := service.CheckText("address", *u.Address, MaxAddress, true); err != nil {
			return storage.Member{}, err
		}
	}
	if u.TravelMode != nil {
		if err := CheckTravelMode(*u.TravelMode); err != nil {
			return storage.Member{}, err
		}
	}
	if u.SetHome && u.Home != nil {
		if err := service.CheckLatLng("home", u.Home, false); err != nil {
			return storage.Member{}, err
		}
	}
	su := storage.MemberUpdate{Address: u.Address, TravelMode: u.TravelMode}
	if u.SetHome {
		su.Home, su.ClearHome = u.Home, u.Home == nil
	}
	m, err := s.store.UpdateMember(ctx, id, su)
	if err != nil {
		return storage.Member{}, err
	}
	s.fresh(&m)
	if u.SetHome || u.TravelMode != nil {
		s.dir.Add(&m, s.now())
		s.moved(ctx, m.ID)
	}
	return m, nil
}

// Get reads a member (its live position only while fresh).
func (s *Service) Get(ctx context.Context, id string) (storage.Member, error) {
	m, err := s.store.GetMember(ctx, id)
	s.fresh(&m)
	return m, err
}

// MaxList caps List: it serves map layers (patrols, cadres), not bulk
// export.
const MaxList = 2000

// List lists up to MaxList members with a role, in a village or ("")
// anywhere; a live position gone stale is left out.
func (s *Service) List(ctx context.Context, role storage.Role, village string) ([]storage.Member, error) {
	ids := s.dir.WithRole(role, village, MaxList)
	// One read for the whole list (it was one per member).
	out, err := s.store.GetMembers(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		s.fresh(&out[i]) // stale: the map should not show it as live
	}
	return out, nil
}

// Locate records a member's live position: the directory follows it and
// the active alerts that now cover the member address it.
func (s *Service) Locate(ctx context.Context, memberID string, lat, lng float64, accuracyM *float64) error {
	if !service.ValidLatLng(lat, lng) {
		return service.Invalid("lat and lng are required, lat in [-90, 90], lng in [-180, 180]")
	}
	acc := 0.0
	if accuracyM != nil {
		if *accuracyM < 0 || *accuracyM > 100000 {
			return service.Invalid("accuracy_m must be between 0 and 100000")
		}
		acc = *accuracyM
	}
	if !s.limits.Allow(memberID, policy.ActionLocate) {
		return service.Errorf(service.CodeRateLimited, "too many positions; send one every few seconds")
	}
	pos := storage.Position{Lat: lat, Lng: lng, AccuracyM: acc, At: s.now()}
	if err := s.store.SetLivePosition(ctx, memberID, pos); err != nil {
		return err
	}
	s.dir.Locate(memberID, pos)
	s.moved(ctx, memberID)
	if s.located != nil {
		s.located(ctx, memberID, pos)
	}
	return nil
}

// Density counts members per H3 cell at resolution res (4 to 9).
func (s *Service) Density(res int) (map[string]int, error) {
	if res < 4 || res > 9 {
		return nil, service.Invalid("res must be an integer from 4 to 9")
	}
	return s.dir.Density(res), nil
}
