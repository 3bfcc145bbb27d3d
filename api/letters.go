package api

import (
	"net/http"
	"strconv"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/letters"
)

// The villager mailbox (docs/API.md v1.6 "the villager mailbox"). Who may
// read a letter is the letter's own list (its writer and readers), kept
// by the service: anyone else gets not_found, whatever its role.

const listLetters = "letters"

func (a *API) registerLetters(api func(string, apiHandler)) {
	api("POST /api/v1/letters", a.handleCreateLetter)
	api("GET /api/v1/letters", a.handleListLetters)
	api("GET /api/v1/letters/{id}", a.handleGetLetter)
	api("POST /api/v1/letters/{id}/reply", a.handleReplyLetter)
	api("POST /api/v1/letters/{id}/share", a.handleShareLetter)
}

// letterRequest is the body of POST /api/v1/letters.
type letterRequest struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

func (a *API) handleCreateLetter(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if a.letters == nil {
		return service.ErrNotFound
	}
	if !may(p, ActWriteLetter, Scope{}) {
		return service.ErrForbidden
	}
	var req letterRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	l, err := a.letters.Create(r.Context(), letters.Draft{To: req.To, Subject: req.Subject, Body: req.Body}, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"letter": l})
	return nil
}

func (a *API) handleListLetters(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if a.letters == nil {
		return service.ErrNotFound
	}
	q := r.URL.Query()
	pg, err := parsePage(q, listLetters)
	if err != nil {
		return err
	}
	f := letters.Filter{Status: q.Get("status"), Level: q.Get("level"), Before: pg.after, Limit: pg.fetch()}
	if s := q.Get("overdue"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return service.Invalid("overdue must be true or false")
		}
		f.Overdue = &b
	}
	ls, err := a.letters.List(r.Context(), f, p.actor())
	if err != nil {
		return err
	}
	ls, nextBefore := next(pg, listLetters, ls, func(l *letters.Letter) int64 { return l.CreatedSeq })
	writeJSON(w, http.StatusOK, listAnswer("letters", ls, nextBefore))
	return nil
}

func (a *API) handleGetLetter(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if a.letters == nil {
		return service.ErrNotFound
	}
	l, err := a.letters.Get(r.Context(), r.PathValue("id"), p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"letter": l})
	return nil
}

func (a *API) handleReplyLetter(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if a.letters == nil {
		return service.ErrNotFound
	}
	var req struct {
		Body  string `json:"body"`
		Close bool   `json:"close"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	l, err := a.letters.Reply(r.Context(), r.PathValue("id"), req.Body, req.Close, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"letter": l})
	return nil
}

func (a *API) handleShareLetter(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if a.letters == nil {
		return service.ErrNotFound
	}
	if !may(p, ActShareLetter, Scope{}) {
		return service.ErrNotFound // a resident reads no one's letter but its own
	}
	var req struct {
		MemberID string `json:"member_id"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.MemberID == "" || len(req.MemberID) > 64 {
		return service.Invalid("member_id is required")
	}
	l, err := a.letters.Share(r.Context(), r.PathValue("id"), req.MemberID, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"letter": l})
	return nil
}
