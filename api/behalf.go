package api

import (
	"net/http"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/storage"
)

// Answers on someone's behalf and a patrol's households (docs/API.md
// v1.5, issue 12). A patrol or cadre who has checked on a villager records
// its answer for it; a patrol (and a cadre, for an alert that does not
// name its village) reads the alert's recipients of its own village
// without their phones or positions, to know which doors to knock on.

// registerBehalf mounts the routes of this file.
func (a *API) registerBehalf(api func(pattern string, fn apiHandler)) {
	api("POST /api/v1/alerts/{id}/acks", a.handleAnswerFor)
}

// behalfRequest is the body of POST /api/v1/alerts/{id}/acks.
type behalfRequest struct {
	MemberID string `json:"member_id"`
	Response string `json:"response"`
	Note     string `json:"note"`
}

// behalfAck is the answer of POST /api/v1/alerts/{id}/acks.
type behalfAck struct {
	AlertID  string          `json:"alert_id"`
	MemberID string          `json:"member_id"`
	Response string          `json:"response"`
	Note     string          `json:"note,omitempty"`
	At       time.Time       `json:"at"`
	By       *alerting.Actor `json:"by"` // nil: the caller answered for itself
}

// handleAnswerFor records an answer for a member: the caller's own
// answer when it names itself, else one on the member's behalf. Who may:
// patrols and cadres for the members of their village, commanders and
// admins for anyone (roleTable ActAnswerFor). A role that may answer for
// no one is 403 before the member is looked up (a resident learns
// nothing of other members); an unknown member, an unknown alert or a
// member the alert is not addressed to is 404.
func (a *API) handleAnswerFor(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req behalfRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	in := alerting.Answer{AlertID: r.PathValue("id"), MemberID: req.MemberID, Response: req.Response, Note: req.Note}
	if err := alerting.CheckAnswerFor(in); err != nil {
		return err
	}
	var by *alerting.Actor
	if req.MemberID == p.ID {
		if !may(p, ActReceive, Scope{}) {
			return service.ErrForbidden
		}
	} else {
		if !mayAnywhere(p, ActAnswerFor) {
			return service.Errorf(service.CodeForbidden, "only patrols, cadres and the command center answer for someone else")
		}
		m, err := a.members.Get(r.Context(), req.MemberID)
		if err != nil {
			return err
		}
		if !may(p, ActAnswerFor, village(m.VillageID)) {
			return service.Errorf(service.CodeForbidden, "you may answer only for the members of your own village")
		}
		by = &alerting.Actor{ID: p.ID, Name: p.Name, Role: p.Role}
	}
	ack, err := a.alerting.AnswerFor(r.Context(), in, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ack": behalfAck{AlertID: ack.AlertID, MemberID: ack.MemberID,
		Response: ack.Response, Note: ack.Note, At: ack.At, By: by}})
	return nil
}

// mayAnywhere tells whether p's role may take action on some scope at all
// (its own village at least).
func mayAnywhere(p *Principal, action Action) bool {
	return roleTable[action][p.Role] != no
}

// Household is a recipient row as a patrol sees it (docs/API.md v1.5): who
// lives there and how it answered, without phone, live or home position.
type Household struct {
	MemberID    string          `json:"member_id"`
	Name        string          `json:"name"`
	Address     string          `json:"address"`
	Response    string          `json:"response"` // "" when none
	RespondedAt *time.Time      `json:"responded_at"`
	AnsweredBy  *alerting.Actor `json:"answered_by"`
	DeliveredAt *time.Time      `json:"delivered_at"`
}

func householdView(r *alerting.RecipientInfo) Household {
	return Household{MemberID: r.MemberID, Name: r.Name, Address: r.Address, Response: r.Response,
		RespondedAt: r.RespondedAt, AnsweredBy: r.AnsweredBy, DeliveredAt: r.DeliveredAt}
}

// writeHouseholds answers GET /api/v1/alerts/{id}/recipients for a caller
// that may not see the alert's recipients but may see its own village's
// households (a patrol; a cadre for an alert not naming its village): the
// recipients of its village, as Household rows, in member id order.
func (a *API) writeHouseholds(w http.ResponseWriter, r *http.Request, p *Principal, al *storage.Alert, response string) error {
	rs, err := a.alerting.RecipientsOf(r.Context(), al, response, false, p.VillageID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"recipients": views(rs, householdView), "village_id": p.VillageID})
	return nil
}
