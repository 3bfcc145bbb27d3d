package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/longyou/hub/api/cap"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Feeds in (docs/API.md v1.6, "CAP feeds"): the hub polls -cap-feed feeds
// (server/capfeed.go); each new CAP Alert either goes out at once, by its
// feed's rule, or waits as pending for a commander's approve or discard.

// CAPFeed is one -cap-feed: its URL and its rule.
type CAPFeed struct {
	URL string
	// MinSeverity is the least severity (the hub's: extreme, severe,
	// moderate, minor) that goes out at once; "" sends nothing at once.
	MinSeverity string
	// Anywhere lets an alert out at once even when its area addresses no
	// one of the county; by default it must address someone.
	Anywhere bool
}

// ParseCAPFeed reads a -cap-feed value: "URL", then optional words
// "min=SEVERITY" (default severe; "min=none": everything waits) and
// "anywhere".
func ParseCAPFeed(v string) (CAPFeed, error) {
	f := strings.Fields(v)
	if len(f) == 0 || !(strings.HasPrefix(f[0], "http://") || strings.HasPrefix(f[0], "https://")) {
		return CAPFeed{}, service.Invalid("-cap-feed %q: want \"URL [min=SEVERITY|min=none] [anywhere]\" with an http(s) URL", v)
	}
	out := CAPFeed{URL: f[0], MinSeverity: "severe"}
	for _, w := range f[1:] {
		switch {
		case w == "anywhere":
			out.Anywhere = true
		case w == "min=none":
			out.MinSeverity = ""
		case strings.HasPrefix(w, "min="):
			sev := strings.TrimPrefix(w, "min=")
			switch sev {
			case "extreme", "severe", "moderate", "minor":
				out.MinSeverity = sev
			default:
				return CAPFeed{}, service.Invalid("-cap-feed %q: min must be extreme, severe, moderate, minor or none", v)
			}
		default:
			return CAPFeed{}, service.Invalid("-cap-feed %q: unknown word %q", v, w)
		}
	}
	return out, nil
}

// feedPrincipal is who a feed's alerts are sent as: the feed itself, with
// a commander's reach.
func feedPrincipal(feed string) *Principal {
	return &Principal{Member: storage.Member{ID: "cap-feed", Name: "CAP feed " + feed, Role: storage.RoleCommander}}
}

// Feed outcomes of FeedMessage.
const (
	FeedSent    = "sent"    // imported at once (or an update or cancel applied)
	FeedPending = "pending" // waits for a commander
	FeedSeen    = "seen"    // imported or pending already
	FeedIgnored = "ignored" // an update or cancel of an alert the hub does not have, or a message refused
)

// FeedMessage takes one CAP document read from a feed: an Alert goes out
// at once when its feed's rule lets it (severity at least MinSeverity and,
// unless Anywhere, an area that addresses someone in the county), else it
// waits as pending; an Update or Cancel of an alert the hub has is applied
// at once (the county accepted the alert), of another ignored.
func (a *API) FeedMessage(ctx context.Context, feed CAPFeed, doc []byte) (string, error) {
	m, err := cap.Parse(doc)
	if err != nil {
		return FeedIgnored, err
	}
	if _, _, err := a.alerting.CAPImported(ctx, m.Sender, m.Identifier); err == nil {
		return FeedSeen, nil
	} else if !service.IsNotFound(err) {
		return "", err
	}
	if _, err := a.alerting.Pending().PendingCAPByMessage(ctx, m.Sender, m.Identifier); err == nil {
		return FeedSeen, nil
	} else if !service.IsNotFound(err) {
		return "", err
	}
	p := feedPrincipal(feed.URL)
	if m.MsgType != cap.MsgAlert {
		if _, err := a.capReferred(ctx, m); err != nil {
			return FeedIgnored, nil
		}
		if _, _, err := a.ImportCAP(ctx, doc, p, nil); err != nil {
			return refused(err)
		}
		return FeedSent, nil
	}
	d, err := a.capDraft(ctx, m)
	if err != nil {
		return refused(err)
	}
	reason := ""
	switch {
	case feed.MinSeverity == "":
		reason = "the feed's rule sends nothing at once"
	case a.alerting.SeverityRank(d.Severity) < a.alerting.SeverityRank(feed.MinSeverity):
		reason = "severity " + d.Severity + " is below " + feed.MinSeverity
	case !feed.Anywhere:
		pv, err := a.alerting.Preview(ctx, d)
		if err != nil {
			return refused(err)
		}
		if pv.Targeted == 0 {
			reason = "its area addresses no one in the county"
		}
	}
	if reason == "" {
		if _, _, err := a.ImportCAP(ctx, doc, p, nil); err != nil {
			return refused(err)
		}
		return FeedSent, nil
	}
	pc := &storage.PendingCAP{ID: service.NewID("cp_"), Feed: feed.URL, Sender: m.Sender, Identifier: m.Identifier,
		Doc: doc, Headline: d.Title, Severity: d.Severity, Reason: reason, ReceivedAt: a.alerting.Now()}
	if err := a.alerting.Pending().AddPendingCAP(ctx, pc); err != nil {
		if service.From(err).Code == service.CodeConflict {
			return FeedSeen, nil
		}
		return "", err
	}
	return FeedPending, nil
}

// refused is the outcome of an error: a message the hub refuses (400,
// 403, 404, 409) is ignored for good; another error (the store
// unavailable) leaves it to be taken again at the next poll ("").
func refused(err error) (string, error) {
	switch service.From(err).Code {
	case service.CodeBadRequest, service.CodeForbidden, service.CodeNotFound, service.CodeConflict, service.CodeTooLarge:
		return FeedIgnored, err
	}
	return "", err
}

// pendingView is a pending message as GET /api/v1/cap/pending lists it.
func pendingView(p *storage.PendingCAP) map[string]any {
	out := map[string]any{"id": p.ID, "feed": p.Feed, "sender": p.Sender, "identifier": p.Identifier,
		"headline": p.Headline, "severity": p.Severity, "reason": p.Reason, "received_at": p.ReceivedAt,
		"status": p.Status}
	if p.DecidedBy != "" {
		out["decided_by"], out["decided_at"] = p.DecidedBy, p.DecidedAt
	}
	if p.AlertID != "" {
		out["alert_id"] = p.AlertID
	}
	return out
}

func (a *API) registerCAPFeed(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/cap/pending", a.Instrument("GET /api/v1/cap/pending", a.authed(a.handleListPending)))
	mux.Handle("GET /api/v1/cap/pending/{id}", a.Instrument("GET /api/v1/cap/pending/{id}", a.authed(a.handleGetPending)))
	mux.Handle("POST /api/v1/cap/pending/{id}/approve", a.Instrument("POST /api/v1/cap/pending/{id}/approve", a.authed(a.handleApprovePending)))
	mux.Handle("POST /api/v1/cap/pending/{id}/discard", a.Instrument("POST /api/v1/cap/pending/{id}/discard", a.authed(a.handleDiscardPending)))
}

func (a *API) handleListPending(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReviewCAP, Scope{}) {
		return service.ErrForbidden
	}
	status := r.URL.Query().Get("status")
	switch status {
	case "", storage.CAPPending, storage.CAPApproved, storage.CAPDiscarded:
	default:
		return service.Invalid("status must be pending, approved, discarded or absent")
	}
	ps, err := a.alerting.Pending().ListPendingCAP(r.Context(), status, 200)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(ps))
	for i := range ps {
		out[i] = pendingView(&ps[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"pending": out})
	return nil
}

func (a *API) handleGetPending(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReviewCAP, Scope{}) {
		return service.ErrForbidden
	}
	pc, err := a.alerting.Pending().GetPendingCAP(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := pendingView(&pc)
	out["doc"] = string(pc.Doc)
	writeJSON(w, http.StatusOK, map[string]any{"pending": out})
	return nil
}

// handleApprovePending sends a pending message as the approving commander
// and records who approved it. A retry after the import and before the
// record finds the import (idempotent) and records it.
func (a *API) handleApprovePending(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReviewCAP, Scope{}) {
		return service.ErrForbidden
	}
	pc, err := a.alerting.Pending().GetPendingCAP(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if pc.Status != storage.CAPPending {
		return service.Errorf(service.CodeConflict, "this message was %s already", pc.Status)
	}
	code, out, err := a.ImportCAP(r.Context(), pc.Doc, p, nil)
	if err != nil {
		return err
	}
	al, _ := out["alert"].(*Alert)
	alertID := ""
	if al != nil {
		alertID = al.ID
	}
	pc, err = a.alerting.Pending().DecidePendingCAP(r.Context(), pc.ID, storage.CAPApproved, p.ID, a.alerting.Now(), alertID)
	if err != nil {
		return err
	}
	out["pending"] = pendingView(&pc)
	writeJSON(w, code, out) // 201 with the alert made (200 when it was imported already)
	return nil
}

func (a *API) handleDiscardPending(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReviewCAP, Scope{}) {
		return service.ErrForbidden
	}
	pc, err := a.alerting.Pending().DecidePendingCAP(r.Context(), r.PathValue("id"), storage.CAPDiscarded, p.ID, a.alerting.Now(), "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"pending": pendingView(&pc)})
	return nil
}
