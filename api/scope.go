package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// A cadre's reach beyond its village (docs/API.md v1.4, issue 13): it sees
// its own village's people, and elsewhere only counts that cannot pin a
// person. The role table says how far each action goes (own village for a
// cadre); the functions here shape what a cadre gets where an answer
// mixes its village with others (the density map, an alert naming
// several villages, report photos).

// handleDensity answers the member density map: the whole county at the
// requested resolution for commanders and admins; for a cadre, its own
// village at that resolution and the rest coarse and thinned
// (members.DensityFor).
func (a *API) handleDensity(w http.ResponseWriter, r *http.Request, p *Principal) error {
	full := may(p, ActDensity, Scope{})
	if !full && !may(p, ActDensity, village(p.VillageID)) {
		return service.ErrForbidden
	}
	res := 7
	if s := r.URL.Query().Get("res"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return service.Invalid("res must be an integer from 4 to 9")
		}
		res = n
	}
	if full {
		cells, err := a.members.Density(res)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"res": res, "cells": cells})
		return nil
	}
	d, err := a.members.DensityFor(res, p.VillageID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"res": d.Res, "cells": d.Cells, "village_id": p.VillageID,
		"others": map[string]any{"res": d.OthersRes, "min_count": members.OthersMinCount, "cells": d.Others}})
	return nil
}

// mayReadMedia tells whether p may read an upload: its owner, commanders
// and admins any, a cadre the photos of its own village's reports.
func (a *API) mayReadMedia(ctx context.Context, p *Principal, m *storage.Media) (bool, error) {
	if m.OwnerID == p.ID || may(p, ActReadMedia, Scope{}) {
		return true, nil
	}
	if ok, err := a.onBoard(ctx, p, m.ID); ok || err != nil { // api/board.go (v1.6)
		return ok, err
	}
	if !may(p, ActReadMedia, village(p.VillageID)) {
		return false, nil
	}
	rs, err := a.reports.List(ctx, storage.ReportFilter{Photo: m.ID, VillageID: p.VillageID, Limit: 1})
	if err != nil || len(rs) > 0 || a.patrol == nil {
		return len(rs) > 0, err
	}
	// v1.6: the photos of the visits to its village's households.
	return a.patrol.VisitHasPhoto(ctx, m.ID, []string{p.VillageID})
}

// recipientsFor is an alert's recipient list as p may see it. A recipient
// whose record p may read (its own village for a cadre, any for command)
// is shown whole. Any other (a cadre reading an alert that also names
// other villages) shows only its role, village and delivery and answer
// state, marked redacted: no id, name, phone, address, position, note or
// ETA. The redacted rows come last, ordered by what they show, so their
// order tells nothing either (not the names or ETAs they were sorted by).
func recipientsFor(p *Principal, rs []alerting.RecipientInfo) []Recipient {
	out := make([]Recipient, 0, len(rs))
	var hidden []Recipient
	for i := range rs {
		if rs[i].MemberID == p.ID || may(p, ActReadMember, village(rs[i].VillageID)) {
			out = append(out, recipientInfoView(&rs[i]))
			continue
		}
		hidden = append(hidden, redactedRecipient(&rs[i]))
	}
	slices.SortStableFunc(hidden, func(x, y Recipient) int {
		return cmp.Or(cmp.Compare(x.VillageID, y.VillageID), cmp.Compare(x.Response, y.Response),
			cmpTime(x.RespondedAt, y.RespondedAt), cmpTime(x.DeliveredAt, y.DeliveredAt),
			cmp.Compare(x.SMSState, y.SMSState), cmp.Compare(x.Role, y.Role), x.TargetedAt.Compare(y.TargetedAt))
	})
	return append(out, hidden...)
}

func redactedRecipient(r *alerting.RecipientInfo) Recipient {
	v := Recipient{Role: r.Role, VillageID: r.VillageID, VillageName: r.VillageName, TargetedAt: r.TargetedAt,
		DeliveredAt: r.DeliveredAt, Response: r.Response, RespondedAt: r.RespondedAt, SMSState: r.SMSState,
		VoiceState: r.VoiceState, Redacted: true}
	if r.AnsweredBy != nil {
		// Answered on its behalf: by whom is redacted too, but its role.
		v.AnsweredBy = &alerting.Actor{Role: r.AnsweredBy.Role}
	}
	return v
}

// cmpTime orders optional times, nil first.
func cmpTime(x, y *time.Time) int {
	switch {
	case x == nil && y == nil:
		return 0
	case x == nil:
		return -1
	case y == nil:
		return 1
	}
	return x.Compare(*y)
}
