package api

import (
	"net/http"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/credit"
	"github.com/longyou/hub/storage"
)

// Household inspections, boards and credit points (docs/API.md v1.6,
// issue 16 part 5). Cadres inspect their village's households, publish its
// boards and give points (a township cadre its township's), command any;
// the village's members read its published boards; a household's credit is
// read by its own members and by cadres in scope and command, and by no
// other resident (404, as if it did not exist).

func (a *API) registerCredit(api func(pattern string, fn apiHandler)) {
	if a.credit == nil {
		return
	}
	api("GET /api/v1/credit/rules", a.handleCreditRules)
	api("POST /api/v1/inspections", a.handleInspect)
	api("GET /api/v1/boards", a.handleRankingBoard)
	api("POST /api/v1/boards/publish", a.handlePublishBoard)
	api("POST /api/v1/credit", a.handleAddCredit)
	api("GET /api/v1/households/{id}/credit", a.handleHouseholdCredit)
	api("GET /api/v1/credit/export.csv", a.handleCreditExport)
	api("GET /api/v1/credit/mine", a.handleCreditMine)
}

// CreditEntry is a credit entry as the API shows it.
type CreditEntry struct {
	ID          int64     `json:"id"`
	HouseholdID string    `json:"household_id"`
	Points      int       `json:"points"`
	Rule        string    `json:"rule"`
	Reason      string    `json:"reason"`
	RecordedBy  string    `json:"recorded_by"`
	At          time.Time `json:"at"`
}

func creditEntryView(e *storage.CreditEntry) CreditEntry {
	return CreditEntry{ID: e.ID, HouseholdID: e.HouseholdID, Points: e.Points, Rule: e.Rule, Reason: e.Reason,
		RecordedBy: e.RecordedBy, At: e.At}
}

// Inspection is an inspection as the API shows it.
type Inspection struct {
	HouseholdID string         `json:"household_id"`
	VillageID   string         `json:"village_id"`
	Month       string         `json:"month"`
	Scores      map[string]int `json:"scores"`
	Total       int            `json:"total"`
	RecordedBy  string         `json:"recorded_by"`
	RecordedAt  time.Time      `json:"recorded_at"`
}

// CreditRules is GET /api/v1/credit/rules: the policy's credit part and
// the current month, for the pages' forms.
type CreditRules struct {
	Month string `json:"month"`
	policy.Credit
}

func (a *API) handleCreditRules(w http.ResponseWriter, r *http.Request, p *Principal) error {
	c := *a.credit.Policy()
	if c.Items == nil {
		c.Items = []policy.InspectionItem{}
	}
	if c.Rules == nil {
		c.Rules = []policy.CreditRule{}
	}
	if c.Levels == nil {
		c.Levels = []policy.CreditLevel{}
	}
	writeJSON(w, http.StatusOK, CreditRules{Month: a.credit.CurrentMonth(), Credit: c})
	return nil
}

// creditHousehold reads the household a staff action names: forbidden
// for a role without the action, not_found when it does not exist,
// forbidden when it is out of the caller's scope.
func (a *API) creditHousehold(r *http.Request, p *Principal, id string, action Action) (storage.Household, error) {
	if roleTable[action][p.Role] == no {
		return storage.Household{}, service.ErrForbidden
	}
	if id == "" {
		return storage.Household{}, service.Invalid("household_id is required")
	}
	h, err := a.credit.Household(r.Context(), id)
	if err != nil {
		return h, err
	}
	if !may(p, action, village(h.VillageID)) {
		return h, service.ErrForbidden
	}
	return h, nil
}

// isStaff: roles that take actions on households (a cadre of another
// village is told it may not, a resident is told nothing exists).
func isStaff(p *Principal) bool {
	switch p.Role {
	case storage.RoleCadre, storage.RoleCommander, storage.RoleAdmin:
		return true
	}
	return false
}

type inspectionRequest struct {
	HouseholdID string         `json:"household_id"`
	Month       string         `json:"month"`
	Scores      map[string]int `json:"scores"`
}

func (a *API) handleInspect(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req inspectionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	h, err := a.creditHousehold(r, p, req.HouseholdID, ActInspect)
	if err != nil {
		return err
	}
	i, err := a.credit.Inspect(r.Context(), h, req.Month, req.Scores, p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"inspection": Inspection{HouseholdID: i.HouseholdID, VillageID: i.VillageID,
		Month: i.Month, Scores: i.Scores, Total: i.Total, RecordedBy: i.RecordedBy, RecordedAt: i.RecordedAt}})
	return nil
}

// rankingVillage is the village a ranking-board request is about: village_id, or
// the caller's own.
func rankingVillage(p *Principal, v string) (string, error) {
	if v == "" {
		v = p.VillageID
	}
	if v == "" {
		return "", service.Invalid("village_id is required")
	}
	return v, nil
}

func (a *API) handleRankingBoard(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	v, err := rankingVillage(p, q.Get("village_id"))
	if err != nil {
		return err
	}
	if !may(p, ActReadBoards, village(v)) {
		return service.ErrForbidden
	}
	staff := may(p, ActInspect, village(v))
	month := q.Get("month")
	if month == "" {
		m, ok, err := a.credit.LatestMonth(r.Context(), v)
		if err != nil {
			return err
		}
		if !ok {
			return service.Errorf(service.CodeNotFound, "no board of this village is published yet")
		}
		month = m
	}
	b, err := a.credit.Board(r.Context(), v, month)
	if err != nil {
		return err
	}
	if !b.Published && !staff {
		return service.Errorf(service.CodeNotFound, "the board of %s is not published", month)
	}
	writeJSON(w, http.StatusOK, map[string]any{"board": b})
	return nil
}

type publishRequest struct {
	VillageID string `json:"village_id"`
	Month     string `json:"month"`
}

func (a *API) handlePublishBoard(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req publishRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v, err := rankingVillage(p, req.VillageID)
	if err != nil {
		return err
	}
	if !may(p, ActInspect, village(v)) {
		return service.ErrForbidden
	}
	if req.Month == "" {
		return service.Invalid("month is required")
	}
	b, n, err := a.credit.Publish(r.Context(), v, req.Month, p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"board": b, "awarded": n})
	return nil
}

type creditRequest struct {
	HouseholdID string `json:"household_id"`
	Points      *int   `json:"points"`
	Rule        string `json:"rule"`
	Reason      string `json:"reason"`
}

func (a *API) handleAddCredit(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req creditRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	h, err := a.creditHousehold(r, p, req.HouseholdID, ActInspect)
	if err != nil {
		return err
	}
	e, err := a.credit.Add(r.Context(), h, req.Points, req.Rule, req.Reason, p.ID)
	if err != nil {
		return err
	}
	acc, err := a.credit.Account(r.Context(), h)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"entry": creditEntryView(&e), "balance": acc.Balance, "level": acc.Level})
	return nil
}

// HouseholdCredit is GET /api/v1/households/{id}/credit.
type HouseholdCredit struct {
	HouseholdID string        `json:"household_id"`
	VillageID   string        `json:"village_id"`
	Name        string        `json:"name"`
	Balance     int           `json:"balance"`
	Level       string        `json:"level"`
	Entries     []CreditEntry `json:"entries"`
}

func (a *API) handleHouseholdCredit(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id := r.PathValue("id")
	var h storage.Household
	if id == "mine" {
		var ok bool
		var err error
		h, ok, err = a.members.HouseholdOf(r.Context(), p.ID)
		if err != nil {
			return err
		}
		if !ok {
			return service.Errorf(service.CodeNotFound, "you belong to no household")
		}
	} else {
		var err error
		if h, err = a.credit.Household(r.Context(), id); err != nil {
			return err
		}
		mine := false
		for _, m := range h.MemberIDs {
			mine = mine || m == p.ID
		}
		if !mine && !may(p, ActReadCredit, village(h.VillageID)) {
			if isStaff(p) {
				return service.ErrForbidden
			}
			return service.ErrNotFound // never confirm another household exists
		}
	}
	out, err := a.householdCredit(r, h)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) householdCredit(r *http.Request, h storage.Household) (HouseholdCredit, error) {
	acc, err := a.credit.Account(r.Context(), h)
	if err != nil {
		return HouseholdCredit{}, err
	}
	out := HouseholdCredit{HouseholdID: h.ID, VillageID: h.VillageID, Name: h.Name, Balance: acc.Balance, Level: acc.Level,
		Entries: make([]CreditEntry, len(acc.Entries))}
	for i := range acc.Entries {
		out.Entries[i] = creditEntryView(&acc.Entries[i])
	}
	return out, nil
}

// handleCreditMine is the member page's one read: the caller's household's
// credit and its village's latest published board, each null when there is
// none (so that a member without either sees no error).
func (a *API) handleCreditMine(w http.ResponseWriter, r *http.Request, p *Principal) error {
	out := struct {
		Account *HouseholdCredit `json:"account"`
		Board   *credit.Board    `json:"board"`
	}{}
	h, ok, err := a.members.HouseholdOf(r.Context(), p.ID)
	if err != nil {
		return err
	}
	if ok {
		acc, err := a.householdCredit(r, h)
		if err != nil {
			return err
		}
		out.Account = &acc
	}
	if v := p.VillageID; v != "" && may(p, ActReadBoards, village(v)) {
		month, ok, err := a.credit.LatestMonth(r.Context(), v)
		if err != nil {
			return err
		}
		if ok {
			b, err := a.credit.Board(r.Context(), v, month)
			if err != nil {
				return err
			}
			out.Board = &b
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) handleCreditExport(w http.ResponseWriter, r *http.Request, p *Principal) error {
	// No village_id: the whole county for command, else the caller's village.
	v := r.URL.Query().Get("village_id")
	if v == "" && !may(p, ActReadCredit, Scope{}) {
		if v = p.VillageID; v == "" {
			return service.Invalid("village_id is required")
		}
	}
	if v != "" && !may(p, ActReadCredit, village(v)) {
		return service.ErrForbidden
	}
	vs, err := a.members.Villages(r.Context())
	if err != nil {
		return err
	}
	names := make(map[string]string, len(vs))
	for _, x := range vs {
		names[x.ID] = x.Name
	}
	if _, ok := names[v]; v != "" && !ok {
		return service.Errorf(service.CodeNotFound, "no village %q", v)
	}
	bs, err := a.credit.Balances(r.Context(), v)
	if err != nil {
		return err
	}
	file := "credit-" + a.credit.CurrentMonth() + ".csv"
	if v != "" {
		file = "credit-" + v + "-" + a.credit.CurrentMonth() + ".csv"
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFileName(file)+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := a.credit.WriteExport(w, bs, names); err != nil {
		a.log.WarnContext(r.Context(), "credit export: write", "err", err)
	}
	return nil
}

// safeFileName keeps a file name to the characters a header may carry
// unquoted: anything else becomes _.
func safeFileName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			b[i] = '_'
		}
	}
	return string(b)
}
