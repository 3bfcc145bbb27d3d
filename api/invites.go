package api

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/invites"
	"github.com/longyou/hub/storage"
)

// The routes of docs/API.md v1.5 "invitations and answer links": staff
// invite members; a member exchanges its invitation link, or a code sent
// to its phone, for a token; the personal answer link of an alert SMS
// shows and answers that alert without a token. Only the first needs a
// bearer: the others are the way to get one, or need none.

// Per client address limits of the routes without a bearer (the number
// limits of login codes are the store's, shared by every node). Many
// villagers may share one carrier address (CGNAT), so the answer link's
// is generous: it only stops a flood.
var addrLimits = policy.Policy{Limits: map[string]policy.Rate{
	"invite_accept": {Every: policy.Duration(6 * time.Second), Burst: 10},
	"login_code":    {Every: policy.Duration(3 * time.Minute), Burst: 20},
	"login_verify":  {Every: policy.Duration(2 * time.Minute), Burst: 30},
	"answer_link":   {Every: policy.Duration(50 * time.Millisecond), Burst: 300},
}}

func (a *API) registerInvites(mux *http.ServeMux, api func(pattern string, fn apiHandler)) {
	if a.invites == nil {
		return
	}
	a.addrLimiter = service.NewLimiter(&addrLimits, a.node.Now)
	api("POST /api/v1/invitations", a.handleInvite)
	public := func(pattern, action string, fn func(w http.ResponseWriter, r *http.Request) error) {
		run := a.audited(pattern, func(w http.ResponseWriter, r *http.Request, _ *Principal) error { return fn(w, r) })
		mux.Handle(pattern, a.Instrument(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := a.allowAddr(r, action)
			if err == nil {
				err = run(w, r, nil)
			}
			if err != nil {
				a.WriteError(r.Context(), w, err)
			}
		})))
	}
	public("POST /api/v1/invitations/accept", "invite_accept", a.handleAcceptInvite)
	public("POST /api/v1/login/code", "login_code", a.handleLoginCode)
	public("POST /api/v1/login/verify", "login_verify", a.handleLoginVerify)
	public("GET /api/v1/answer/{code}", "answer_link", a.handleAnswerPage)
	public("POST /api/v1/answer/{code}", "answer_link", a.handleAnswer)
}

// clientAddr is the source of a request as limited: its IPv4 address, or
// the /64 of its IPv6 address (as hub's connection cap counts them).
func clientAddr(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

func (a *API) allowAddr(r *http.Request, action string) error {
	if a.addrLimiter.Allow("addr:"+clientAddr(r), action) {
		return nil
	}
	return service.Errorf(service.CodeRateLimited, "too many requests from your address; try again later")
}

// inviteRequest is the body of POST /api/v1/invitations.
type inviteRequest struct {
	MemberIDs   []string `json:"member_ids"`
	VillageID   string   `json:"village_id"`
	NotSignedIn bool     `json:"not_signed_in"`
}

func (a *API) handleInvite(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActInvite, Scope{}) && !may(p, ActInvite, village(p.VillageID)) {
		return service.ErrForbidden
	}
	var req inviteRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	sel := invites.Selection{MemberIDs: slices.Compact(slices.Sorted(slices.Values(req.MemberIDs))), VillageID: req.VillageID, NotSignedIn: req.NotSignedIn}
	switch {
	case len(req.MemberIDs) > 0 && (req.VillageID != "" || req.NotSignedIn):
		return service.Invalid("give exactly one of member_ids, village_id or not_signed_in")
	case req.MemberIDs != nil && len(req.MemberIDs) == 0:
		return service.Invalid("member_ids is empty")
	case len(req.MemberIDs) == 0 && req.VillageID == "" && !req.NotSignedIn:
		return service.Invalid("give exactly one of member_ids, village_id or not_signed_in")
	}
	// A cadre invites the members of its own village only: a village (or
	// the not signed in of one) must be its own; not signed in without a
	// village is its own village's.
	if !may(p, ActInvite, Scope{}) {
		switch {
		case req.VillageID != "" && !may(p, ActInvite, village(req.VillageID)):
			return service.Errorf(service.CodeForbidden, "you may invite the members of your own village only")
		case req.NotSignedIn && req.VillageID == "":
			sel.VillageID = p.VillageID
		}
	}
	if req.VillageID != "" {
		if _, err := a.invites.Village(r.Context(), req.VillageID); err != nil {
			return err
		}
	}
	ms, err := a.invites.Targets(r.Context(), sel)
	if err != nil {
		return err
	}
	if len(req.MemberIDs) > 0 {
		if len(ms) != len(sel.MemberIDs) {
			return service.Errorf(service.CodeNotFound, "no such member among member_ids")
		}
		for i := range ms {
			if !may(p, ActInvite, village(ms[i].VillageID)) {
				if may(p, ActReadMember, village(ms[i].VillageID)) {
					return service.ErrForbidden
				}
				return service.Errorf(service.CodeForbidden, "you may invite the members of your own village only")
			}
		}
	}
	res, err := a.invites.Invite(r.Context(), ms, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, res)
	return nil
}

// signedIn is the answer that hands a member its new token.
type signedIn struct {
	Token  string `json:"token"`
	Member Member `json:"member"`
}

func (a *API) handleAcceptInvite(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Invite string `json:"invite"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	m, tok, err := a.invites.Accept(r.Context(), req.Invite)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, signedIn{Token: tok, Member: memberView(&m)})
	return nil
}

type loginRequest struct {
	Phone string `json:"phone"`
	Code  string `json:"code"`
}

func (a *API) handleLoginCode(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.invites.RequestCode(r.Context(), req.Phone); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"sent": true})
	return nil
}

func (a *API) handleLoginVerify(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	m, tok, err := a.invites.VerifyCode(r.Context(), req.Phone, req.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, signedIn{Token: tok, Member: memberView(&m)})
	return nil
}

// AnswerAlert is the alert as an answer link shows it.
type AnswerAlert struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Severity  string    `json:"severity"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	ExpiresAt time.Time `json:"expires_at"`
	Status    string    `json:"status"`
}

func (a *API) handleAnswerPage(w http.ResponseWriter, r *http.Request) error {
	pg, err := a.invites.Answer(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	al := &pg.Alert
	writeJSON(w, http.StatusOK, map[string]any{
		"alert": AnswerAlert{ID: al.ID, Kind: al.Kind, Severity: al.Severity, Title: al.Title, Body: al.Body,
			ExpiresAt: al.ExpiresAt.UTC(), Status: pg.Status},
		"response": pg.Response, "eta_min": pg.EtaMin, "name": pg.Name,
	})
	return nil
}

type answerRequest struct {
	Response string `json:"response"`
	EtaMin   *int   `json:"eta_min"`
	Note     string `json:"note"`
}

func (a *API) handleAnswer(w http.ResponseWriter, r *http.Request) error {
	var req answerRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	at, err := a.invites.AnswerBy(r.Context(), r.PathValue("code"), req.Response, req.EtaMin, req.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ack": map[string]any{"response": req.Response, "at": at.UTC()}})
	return nil
}

// signedInViews are members as staff see them in lists, with signed_in;
// filter "false" (or "true") keeps those not signed in (or signed in).
func (a *API) signedInViews(ctx context.Context, ms []storage.Member, filter string) ([]Member, error) {
	if a.invites == nil {
		return views(ms, memberView), nil
	}
	ids := make([]string, len(ms))
	for i := range ms {
		ids[i] = ms[i].ID
	}
	in, err := a.invites.SignedIn(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(ms))
	for i := range ms {
		v := memberView(&ms[i])
		s := in[ms[i].ID]
		v.SignedIn = &s
		if (filter == "false" && s) || (filter == "true" && !s) {
			continue
		}
		out = append(out, v)
	}
	return out, nil
}
