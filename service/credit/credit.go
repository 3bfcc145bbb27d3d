// Package credit is the service of household inspections, the village
// boards (排行榜, 红榜, 黑榜) and credit points (docs/API.md v1.6, issue 16
// part 5): cadres record a monthly inspection per household, the month's
// board ranks the village's households by total score, publishing it tells
// the village and gives the board places their rule points (once), and
// every household keeps an append-only credit history whose balance gives
// its credit level for the bank's village-wide credit programme.
package credit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Store is what the credit service reads and writes.
type Store interface {
	GetHousehold(ctx context.Context, id string) (storage.Household, error)
	ListHouseholds(ctx context.Context, f storage.HouseholdFilter) ([]storage.Household, error)
	storage.Credit
}

// Config configures the Service.
type Config struct {
	Store  Store     // required
	Node   *hub.Node // required: the clock and the fan-out
	Logger *slog.Logger
	// Policy holds the items, rules and levels. Nil means policy.Default().
	Policy *policy.Policy
}

// Service is the credit service.
type Service struct {
	store   Store
	node    *hub.Node
	log     *slog.Logger
	metrics *metrics.Metrics
	pol     *policy.Credit // fixed rules (tests); nil: full's, in force
	full    *policy.Policy
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Policy == nil {
		p := policy.Default()
		cfg.Policy = &p
	}
	return &Service{store: cfg.Store, node: cfg.Node, log: cfg.Logger, metrics: cfg.Node.Metrics(), full: cfg.Policy}
}

// Policy is the credit policy the service applies.
func (s *Service) Policy() *policy.Credit { return s.rules() }

// rules are the credit rules in force (PUT /api/v1/policy replaces them).
func (s *Service) rules() *policy.Credit {
	if s.full != nil {
		return &s.full.Now().Credit
	}
	return s.pol
}

// MaxReason bounds a credit entry's reason.
const MaxReason = 200

// county is the county's time zone: months are its calendar months.
var county = time.FixedZone("CST", 8*60*60)

// CurrentMonth is the county's month now, "2006-01".
func (s *Service) CurrentMonth() string { return s.node.Now().In(county).Format("2006-01") }

// CheckMonth checks a month: "YYYY-MM", from 2000-01, not after the
// current month.
func (s *Service) CheckMonth(m string) error { return CheckMonth(m, s.node.Now()) }

// CheckMonth checks a month at now: "YYYY-MM", from 2000-01, not after
// now's month in the county.
func CheckMonth(m string, now time.Time) error {
	t, err := time.Parse("2006-01", m)
	if err != nil || t.Format("2006-01") != m {
		return service.Invalid("month must be YYYY-MM, got %q", m)
	}
	if m < "2000-01" || m > now.In(county).Format("2006-01") {
		return service.Invalid("month %s is not between 2000-01 and the current month", m)
	}
	return nil
}

// Household reads a household (not_found when none).
func (s *Service) Household(ctx context.Context, id string) (storage.Household, error) {
	h, err := s.store.GetHousehold(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return h, fmt.Errorf("household %q: %w", id, service.ErrNotFound)
	}
	return h, err
}

// Inspect records (or, until the month's board is published, replaces) a
// household's inspection: every policy item scored from 0 to its max.
func (s *Service) Inspect(ctx context.Context, h storage.Household, month string, scores map[string]int, by string) (storage.Inspection, error) {
	if len(s.rules().Items) == 0 {
		return storage.Inspection{}, service.Invalid("the policy has no inspection items")
	}
	if err := s.CheckMonth(month); err != nil {
		return storage.Inspection{}, err
	}
	total := 0
	for id, v := range scores {
		it, ok := s.rules().Item(id)
		if !ok {
			return storage.Inspection{}, service.Invalid("scores: unknown item %q (items: %s)", id, service.OneOf(s.ItemIDs()))
		}
		if v < 0 || v > it.Max {
			return storage.Inspection{}, service.Invalid("scores: %s must be 0 to %d, got %d", id, it.Max, v)
		}
		total += v
	}
	for _, it := range s.rules().Items {
		if _, ok := scores[it.ID]; !ok {
			return storage.Inspection{}, service.Invalid("scores: %s is missing (every item is scored)", it.ID)
		}
	}
	i := storage.Inspection{HouseholdID: h.ID, VillageID: h.VillageID, Month: month, Scores: scores, Total: total,
		RecordedBy: by, RecordedAt: s.node.Now()}
	if err := s.store.PutInspection(ctx, &i); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return storage.Inspection{}, service.Errorf(service.CodeConflict, "the board of %s is published: its inspections are final", month)
		}
		return storage.Inspection{}, err
	}
	return i, nil
}

// ItemIDs are the policy's inspection item ids, in order.
func (s *Service) ItemIDs() []string {
	out := make([]string, len(s.rules().Items))
	for i, it := range s.rules().Items {
		out[i] = it.ID
	}
	return out
}

// checkReason checks an entry's reason.
func checkReason(reason string, optional bool) error {
	return service.CheckText("reason", reason, MaxReason, optional)
}

// Add records credit points by hand: points, or a rule's points (exactly
// one of the two), with a reason (a rule's name when a rule is given
// without one).
func (s *Service) Add(ctx context.Context, h storage.Household, points *int, rule, reason, by string) (storage.CreditEntry, error) {
	e := storage.CreditEntry{HouseholdID: h.ID, VillageID: h.VillageID, Reason: reason, RecordedBy: by, At: s.node.Now()}
	switch {
	case points != nil && rule != "":
		return e, service.Invalid("give points or rule, not both")
	case points != nil:
		if *points == 0 || *points < -policy.MaxRulePoints || *points > policy.MaxRulePoints {
			return e, service.Invalid("points must be -%d to %d and not 0", policy.MaxRulePoints, policy.MaxRulePoints)
		}
		if err := checkReason(reason, false); err != nil {
			return e, err
		}
		e.Points = *points
	case rule != "":
		r, ok := s.rules().Rule(rule)
		if !ok {
			return e, service.Invalid("rule must be one of %s", service.OneOf(s.RuleIDs()))
		}
		if err := checkReason(reason, true); err != nil {
			return e, err
		}
		e.Points, e.Rule = r.Points, r.ID
		if e.Reason == "" {
			e.Reason = r.NameZh
		}
	default:
		return e, service.Invalid("points or rule is required")
	}
	if _, err := s.store.AddCreditEntry(ctx, &e); err != nil {
		return storage.CreditEntry{}, notFound(err, h.ID)
	}
	return e, nil
}

// RuleIDs are the policy's credit rule ids, in order.
func (s *Service) RuleIDs() []string {
	out := make([]string, len(s.rules().Rules))
	for i, r := range s.rules().Rules {
		out[i] = r.ID
	}
	return out
}

func notFound(err error, householdID string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("household %q: %w", householdID, service.ErrNotFound)
	}
	return err
}

// Award gives a household the points of a policy rule: for other parts of
// the hub (a good deed confirmed, a report that helped). A non-empty key
// makes it idempotent: a second award with the same key adds nothing and
// returns added false. reason "" is the rule's name.
func (s *Service) Award(ctx context.Context, householdID, rule, reason, byMemberID, key string) (e storage.CreditEntry, added bool, err error) {
	r, ok := s.rules().Rule(rule)
	if !ok {
		return e, false, service.Invalid("rule must be one of %s", service.OneOf(s.RuleIDs()))
	}
	if err := checkReason(reason, true); err != nil {
		return e, false, err
	}
	if len(key) > 200 {
		return e, false, service.Invalid("key: at most 200 bytes")
	}
	h, err := s.Household(ctx, householdID)
	if err != nil {
		return e, false, err
	}
	if reason == "" {
		reason = r.NameZh
	}
	e = storage.CreditEntry{HouseholdID: h.ID, VillageID: h.VillageID, Points: r.Points, Rule: r.ID, Reason: reason,
		Key: key, RecordedBy: byMemberID, At: s.node.Now()}
	added, err = s.store.AddCreditEntry(ctx, &e)
	if err != nil {
		return storage.CreditEntry{}, false, notFound(err, householdID)
	}
	return e, added, nil
}

// Account is a household's credit: balance, level and history.
type Account struct {
	Household storage.Household
	Balance   int
	Level     string
	Entries   []storage.CreditEntry // oldest first
}

// Account reads a household's credit.
func (s *Service) Account(ctx context.Context, h storage.Household) (Account, error) {
	es, err := s.store.CreditEntries(ctx, h.ID)
	if err != nil {
		return Account{}, err
	}
	a := Account{Household: h, Entries: es}
	for _, e := range es {
		a.Balance += e.Points
	}
	a.Level = s.rules().Level(a.Balance)
	return a, nil
}

// Balances are the balances of a village's households ("" every village).
func (s *Service) Balances(ctx context.Context, villageID string) ([]storage.CreditBalance, error) {
	return s.store.CreditBalances(ctx, villageID)
}

// ErrNoHousehold is AwardMember's error for a member who belongs to no
// household (nothing to award).
var ErrNoHousehold = service.Errorf(service.CodeNotFound, "the member belongs to no household")

// AwardMember is Award for the household of a member (the reporter of a
// report that helped, the doer of a good deed): ErrNoHousehold when the
// member has none.
func (s *Service) AwardMember(ctx context.Context, memberID, rule, reason, byMemberID, key string) (storage.CreditEntry, bool, error) {
	hs, err := s.store.ListHouseholds(ctx, storage.HouseholdFilter{MemberID: memberID, Limit: 1})
	if err != nil {
		return storage.CreditEntry{}, false, err
	}
	if len(hs) == 0 {
		return storage.CreditEntry{}, false, ErrNoHousehold
	}
	return s.Award(ctx, hs[0].ID, rule, reason, byMemberID, key)
}
