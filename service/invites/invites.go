// Package invites brings villagers in without anyone handing them a
// token (docs/API.md v1.5 "invitations and answer links", issue 12):
// personal sign-in links sent by SMS, login codes by phone, and the
// personal answer links of alert SMS with the page behind them.
package invites

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// Store is what the service reads and writes.
type Store interface {
	storage.Invites
	GetMember(ctx context.Context, id string) (storage.Member, error)
	GetMembers(ctx context.Context, ids []string) ([]storage.Member, error)
	GetVillage(ctx context.Context, id string) (storage.Village, error)
	IsTargeted(ctx context.Context, alertID, memberID string) (bool, error)
	AckHistory(ctx context.Context, alertID, memberID string) ([]storage.Ack, error)
}

// Defaults of Config.
const (
	DefaultInviteTTL = 7 * 24 * time.Hour
	// LoginCodeTTL is how long a login code works.
	LoginCodeTTL = 10 * time.Minute
	// MaxCodeTries wrong codes burn a login code.
	MaxCodeTries = 5
	// The limits of login codes per phone number: one a minute, five an
	// hour (whether a member has the number or not).
	loginCodeGap     = time.Minute
	loginCodesByHour = 5
	// maxInvite is how many members one invitation request reaches.
	maxInvite = 200_000
	// invitePage is how many members one store write invites.
	invitePage = 1000
)

// Config configures the service. The zero value of each optional field
// picks the default its comment names.
type Config struct {
	Store    Store             // required
	Links    *Links            // required: the link key's signer
	Alerting *alerting.Service // required: answers go through it
	Wake     func()            // asks the outbox to send now; nil: none
	Clock    func() time.Time  // nil: time.Now
	Logger   *slog.Logger      // nil: slog.Default()
	// PublicURL is where members reach the hub (the links). Empty:
	// http://localhost.
	PublicURL string
	// InviteTTL is how long an invitation link works. Zero: 7 days.
	InviteTTL time.Duration
	// StaffTokenTTL is how long a staff member's new token lasts (zero:
	// no expiry), as members.Service.StaffTokenTTL says.
	StaffTokenTTL time.Duration
}

// Service is the invitation, login code and answer link service.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost"
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.InviteTTL <= 0 {
		cfg.InviteTTL = DefaultInviteTTL
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	return &Service{cfg: cfg, log: cfg.Logger}
}

// LoadKey is the link key: secret when given (at least MinKeyLen bytes),
// else the store's, made once and kept in the store's settings (insert if
// absent: every node on one database shares it).
func LoadKey(ctx context.Context, st interface {
	SettingOrInsert(ctx context.Context, name string, value []byte) ([]byte, error)
}, secret string) ([]byte, error) {
	if secret != "" {
		if len(secret) < MinKeyLen {
			return nil, fmt.Errorf("the link secret must be at least %d characters (it has %d)", MinKeyLen, len(secret))
		}
		return []byte(secret), nil
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return st.SettingOrInsert(ctx, "link_key", k)
}

func (s *Service) now() time.Time { return s.cfg.Clock() }

// AnswerCode is the code of a member's answer link to an alert (the SMS
// channel's WithAnswerLinks).
func (s *Service) AnswerCode(a *storage.Alert, memberID string) string {
	return s.cfg.Links.AnswerCode(a.Seq, memberID)
}

// newTokenMeta is a new token of kind for a member signing in now: it
// was used now (the member is signed in), and expires by role.
func (s *Service) newTokenMeta(secret, kind string, now time.Time) (storage.Token, func(*storage.Member, *storage.Token)) {
	t := storage.Token{Hash: service.HashToken(secret), Kind: kind, CreatedAt: now, LastUsedAt: now}
	return t, func(m *storage.Member, t *storage.Token) {
		t.CreatedBy = m.ID
		if members.IsStaff(m.Role) && s.cfg.StaffTokenTTL > 0 {
			t.ExpiresAt = now.Add(s.cfg.StaffTokenTTL)
		}
	}
}

// Subject fills the SMS of an invitation or a login code (the
// dispatcher's notify.Subjects). An invitation that was used or revoked
// meanwhile is storage.ErrNotFound: its SMS is not sent.
func (s *Service) Subject(ctx context.Context, row *storage.Message) (*notify.Item, error) {
	switch row.Ref.Type {
	case storage.RefInvite:
		in, err := s.cfg.Store.GetInvitation(ctx, row.Ref.ID)
		if err != nil {
			return nil, err
		}
		if !in.UsedAt.IsZero() || !in.RevokedAt.IsZero() || !in.ExpiresAt.After(s.now()) {
			return nil, fmt.Errorf("invitation %s is spent: %w", in.ID, storage.ErrNotFound)
		}
		m, err := s.cfg.Store.GetMember(ctx, in.MemberID)
		if err != nil {
			return nil, err
		}
		village := "村委会"
		if row.Lang == "en" {
			village = "Your village"
		}
		if m.VillageID != "" {
			if v, err := s.cfg.Store.GetVillage(ctx, m.VillageID); err == nil {
				village = v.Name
			}
		}
		days := int((in.ExpiresAt.Sub(in.CreatedAt) + 12*time.Hour) / (24 * time.Hour))
		return &notify.Item{Invite: &notify.Invite{Name: m.Name, Village: village, Days: max(days, 1),
			Link: s.cfg.PublicURL + "/m?invite=" + s.cfg.Links.InviteSecret(in.ID)}}, nil
	case storage.RefLogin:
		return &notify.Item{LoginCode: s.cfg.Links.LoginCode(row.Ref.ID)}, nil
	}
	return nil, fmt.Errorf("invites: no template for %s: %w", row.Ref.Type, storage.ErrNotFound)
}

// Selection is whom to invite: exactly one of MemberIDs, VillageID alone,
// or NotSignedIn (with VillageID to narrow).
type Selection struct {
	MemberIDs   []string
	VillageID   string
	NotSignedIn bool
}

// Invited is the outcome of an invitation request.
type Invited struct {
	Invited        int `json:"invited"`
	SkippedNoPhone int `json:"skipped_no_phone"`
	// SkippedInactive counts deactivated members.
	SkippedInactive int `json:"skipped_inactive"`
}

// Targets reads the members a selection names (members of MemberIDs that
// do not exist are left out; the caller checks the scope of each).
func (s *Service) Targets(ctx context.Context, sel Selection) ([]storage.Member, error) {
	if len(sel.MemberIDs) > 0 {
		if len(sel.MemberIDs) > 10_000 {
			return nil, service.Invalid("member_ids: at most 10000 members at once")
		}
		return s.cfg.Store.GetMembers(ctx, sel.MemberIDs)
	}
	var out []storage.Member
	after := ""
	for {
		page, err := s.cfg.Store.InviteTargets(ctx, storage.InviteTargetFilter{VillageID: sel.VillageID,
			NotSignedIn: sel.NotSignedIn, After: after, Limit: 5000})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 5000 || len(out) >= maxInvite {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// Invite sends each member one invitation SMS (a member without a phone
// is skipped), revoking its older unused invitations.
func (s *Service) Invite(ctx context.Context, ms []storage.Member, by service.Actor) (Invited, error) {
	var res Invited
	now := s.now()
	invs := make([]storage.Invitation, 0, invitePage)
	msgs := make([]storage.Message, 0, invitePage)
	flush := func() error {
		if len(invs) == 0 {
			return nil
		}
		if err := s.cfg.Store.CreateInvitations(ctx, invs, msgs); err != nil {
			return err
		}
		res.Invited += len(invs)
		invs, msgs = invs[:0], msgs[:0]
		return nil
	}
	for i := range ms {
		m := &ms[i]
		if m.Inactive {
			res.SkippedInactive++
			continue
		}
		if m.Phone == "" {
			res.SkippedNoPhone++
			continue
		}
		id := service.NewID("inv_")
		h := sha256.Sum256([]byte(s.cfg.Links.InviteSecret(id)))
		invs = append(invs, storage.Invitation{ID: id, MemberID: m.ID, Hash: h[:], CreatedBy: by.ID,
			CreatedAt: now, ExpiresAt: now.Add(s.cfg.InviteTTL)})
		msgs = append(msgs, storage.Message{Channel: storage.ChannelSMS, Ref: storage.Ref{Type: storage.RefInvite, ID: id},
			MemberID: m.ID, Kind: storage.MessageInvite, Priority: invitePriority, DueAt: now})
		if len(invs) == invitePage {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if res.Invited > 0 {
		s.cfg.Wake()
	}
	s.log.Info("members invited", slog.Int("invited", res.Invited), slog.Int("skipped_no_phone", res.SkippedNoPhone), slog.String("by", by.ID))
	return res, nil
}

// SMS priorities: alerts go first (their severity rank, 1 to 4), then
// login codes (someone waits for it), then invitations (bulk).
const (
	loginPriority  = 0
	invitePriority = -1
)

// errLinkSpent is the one answer to a link that does not sign in: it
// never says which member, nor whether the link ever existed.
var errLinkSpent = service.Errorf(service.CodeUnauthorized, "this sign-in link was used already or has expired; ask for a new one or sign in with your phone number")

// Accept exchanges an invitation link's secret for a new token (kind
// invite), once.
func (s *Service) Accept(ctx context.Context, secret string) (storage.Member, string, error) {
	if secret == "" || len(secret) > 100 {
		return storage.Member{}, "", errLinkSpent
	}
	h := sha256.Sum256([]byte(secret))
	token := service.NewToken()
	t, prepare := s.newTokenMeta(token, storage.TokenInvite, s.now())
	in, m, err := s.cfg.Store.AcceptInvitation(ctx, h[:], &t, prepare)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Member{}, "", errLinkSpent
	}
	if err != nil {
		return storage.Member{}, "", err
	}
	if m.Inactive {
		// Deactivated since it was invited: the token issued with the
		// accept does not authenticate while the member is inactive and
		// is never shown.
		return storage.Member{}, "", errLinkSpent
	}
	s.log.Info("invitation accepted", slog.String("invitation", in.ID), slog.String("member", m.ID), slog.String("token", t.ID))
	return m, token, nil
}

// NormalizePhone reads a phone number as people type it: E.164, or a
// mainland China mobile number of 11 digits (+86 is added); spaces and
// dashes are ignored.
func NormalizePhone(s string) (string, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) == 11 && s[0] == '1' && strings.Trim(s, "0123456789") == "" {
		s = "+86" + s
	}
	if !notify.ValidE164(s) {
		return "", service.Invalid("phone must be a phone number such as 13800138000 or +8613800138000")
	}
	return s, nil
}

var errRateLimited = service.Errorf(service.CodeRateLimited, "too many codes asked for this number; wait a minute (at most 5 an hour)")

// RequestCode queues a login code SMS to phone when a member has it. The
// answer and the work are the same whether one does or not: a code row
// is written either way (it carries the number's rate limit), and only
// the SMS depends on the member.
func (s *Service) RequestCode(ctx context.Context, phone string) error {
	phone, err := NormalizePhone(phone)
	if err != nil {
		return err
	}
	now := s.now()
	m, err := s.cfg.Store.MemberByPhone(ctx, phone)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if m.Inactive {
		m = storage.Member{} // a deactivated member gets no code, as an unknown number
	}
	c := storage.LoginCode{ID: service.NewID("lc_"), Phone: phone, MemberID: m.ID, CreatedAt: now, ExpiresAt: now.Add(LoginCodeTTL)}
	c.Hash = s.cfg.Links.LoginHash(phone, s.cfg.Links.LoginCode(c.ID))
	var msg *storage.Message
	if m.ID != "" {
		msg = &storage.Message{Channel: storage.ChannelSMS, Ref: storage.Ref{Type: storage.RefLogin, ID: c.ID},
			MemberID: m.ID, Kind: storage.MessageLoginCode, Priority: loginPriority, DueAt: now}
	}
	err = s.cfg.Store.CreateLoginCode(ctx, &c, storage.LoginLimits{WindowStart: now.Add(-time.Hour), PerWindow: loginCodesByHour, MinGap: loginCodeGap}, msg)
	if errors.Is(err, storage.ErrRateLimited) {
		return errRateLimited
	}
	if err != nil {
		return err
	}
	if msg != nil {
		s.cfg.Wake()
	}
	return nil
}

var errBadCode = service.Errorf(service.CodeUnauthorized, "wrong or expired code; ask for a new one")

// VerifyCode exchanges a login code for a new token (kind login).
func (s *Service) VerifyCode(ctx context.Context, phone, code string) (storage.Member, string, error) {
	phone, err := NormalizePhone(phone)
	if err != nil {
		return storage.Member{}, "", err
	}
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return storage.Member{}, "", service.Invalid("code must be the 6 digits of the SMS")
	}
	token := service.NewToken()
	t, prepare := s.newTokenMeta(token, storage.TokenLogin, s.now())
	m, err := s.cfg.Store.UseLoginCode(ctx, phone, s.cfg.Links.LoginHash(phone, code), MaxCodeTries, &t, prepare)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Member{}, "", errBadCode
	}
	if err != nil {
		return storage.Member{}, "", err
	}
	s.log.Info("signed in with a login code", slog.String("member", m.ID), slog.String("token", t.ID))
	return m, token, nil
}

// Village reads a village (not_found when there is none).
func (s *Service) Village(ctx context.Context, id string) (storage.Village, error) {
	v, err := s.cfg.Store.GetVillage(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Village{}, service.Errorf(service.CodeNotFound, "no such village")
	}
	return v, err
}

// SignedIn tells which of the members hold a token that was ever used.
func (s *Service) SignedIn(ctx context.Context, ids []string) (map[string]bool, error) {
	return s.cfg.Store.SignedIn(ctx, ids)
}

// loginCodeKeep is how long login codes (and the numbers they were asked
// for) are kept: past their expiry and every rate window.
const loginCodeKeep = 24 * time.Hour

// Run deletes old login codes every 10 minutes until ctx ends: a number
// someone typed (a member's or not) is kept a day at most.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := s.cfg.Store.PruneLoginCodes(ctx, s.now().Add(-loginCodeKeep)); err != nil && ctx.Err() == nil {
			s.log.Warn("prune login codes", slog.Any("err", err))
		} else if n > 0 {
			s.log.Info("login codes pruned", slog.Int("codes", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
