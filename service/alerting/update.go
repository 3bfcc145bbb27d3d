package alerting

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Exercises and updates in place (docs/API.md v1.6, issue 14).

// staffRoles are the roles an exercise (演练) is delivered to: never a
// resident.
var staffRoles = []storage.Role{storage.RolePatrol, storage.RoleCadre, storage.RoleCommander, storage.RoleAdmin}

// exerciseRoles is the audience of an exercise asked for roles (nil:
// every role): the staff roles among them.
func exerciseRoles(roles []storage.Role) []storage.Role {
	if roles == nil {
		return slices.Clone(staffRoles)
	}
	var out []storage.Role
	for _, r := range roles {
		if r != storage.RoleResident && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func exerciseMask(roles []storage.Role) hub.RoleMask { return hub.Roles(exerciseRoles(roles)...) }

// checkExercise refuses an exercise addressed to residents only.
func (d *Draft) checkExercise() error {
	if d.Exercise && len(exerciseRoles(d.Roles)) == 0 {
		return service.Invalid("roles: an exercise goes to staff roles only (patrol, cadre, commander, admin), never to residents")
	}
	return nil
}

// Change is an update in place of an active alert: nil fields keep the
// alert's.
type Change struct {
	Severity  *string
	Title     *string
	Body      *string
	Area      *geo.Area
	ExpiresAt *time.Time
	Meta      json.RawMessage // nil keeps it
	Import    *storage.CAPImport
}

// Updated is the outcome of Update.
type Updated struct {
	Alert    storage.Alert
	Targeted int // recipients after the update
	Added    int // members the new area took in
	Removed  int // members it took out
}

// DraftOf is the draft an update is checked as: the alert with the change.
func DraftOf(a *storage.Alert, c *Change) (Draft, error) {
	d := Draft{Kind: a.Kind, Severity: a.Severity, Title: a.Title, Body: a.Body, Roles: a.Roles,
		Exercise: a.Exercise, SMSFallbackAfterS: a.SMSFallbackAfterS, VoiceAfterS: a.VoiceAfterS}
	var area geo.Area
	if err := json.Unmarshal(a.Area, &area); err != nil {
		return Draft{}, err
	}
	d.Area = &area
	exp := a.ExpiresAt
	d.ExpiresAt = &exp
	if c.Severity != nil {
		d.Severity = *c.Severity
	}
	if c.Title != nil {
		d.Title = *c.Title
	}
	if c.Body != nil {
		d.Body = *c.Body
	}
	if c.Area != nil {
		d.Area = c.Area
	}
	if c.ExpiresAt != nil {
		d.ExpiresAt = c.ExpiresAt
	}
	if d.VoiceAfterS == nil {
		off := VoiceOff
		d.VoiceAfterS = &off
	}
	return d, nil
}

// Update changes an active alert in place: new text, severity, area and
// expiry; the members the new area takes in are addressed (alert event,
// SMS as the alert asks), those it leaves out are taken off (their
// pending SMS cancelled, an alert_update with in_area false each), the
// others keep their answers and get the alert_update. ErrConflict when
// the alert is no longer active.
func (s *Service) Update(ctx context.Context, id string, c Change, by service.Actor) (Updated, error) {
	lock := s.order.of(id)
	lock.Lock()
	defer lock.Unlock()
	a, err := s.store.GetAlert(ctx, id)
	if err != nil {
		return Updated{}, err
	}
	now := s.now()
	if a.Status != storage.AlertActive || !a.ExpiresAt.After(now) {
		return Updated{}, service.Errorf(service.CodeConflict, "the alert is no longer active: it cannot be updated")
	}
	d, err := DraftOf(&a, &c)
	if err != nil {
		return Updated{}, err
	}
	au, err := s.resolveAudience(ctx, &d)
	if err != nil {
		return Updated{}, err
	}
	rs, err := s.store.ListRecipients(ctx, id, storage.RecipientFilter{})
	if err != nil {
		return Updated{}, err
	}
	before := make(map[string]bool, len(rs))
	for _, r := range rs {
		before[r.MemberID] = true
	}
	after := make(map[string]bool, len(au.ids))
	var addIDs []string
	for _, m := range au.ids {
		after[m] = true
		if !before[m] {
			addIDs = append(addIDs, m)
		}
	}
	var remove []string
	for _, r := range rs {
		if !after[r.MemberID] {
			remove = append(remove, r.MemberID)
		}
	}
	area, _ := json.Marshal(d.Area)
	na := a
	na.Severity, na.Title, na.Body, na.Area, na.Villages = d.Severity, d.Title, d.Body, area, d.Area.Villages
	na.ExpiresAt = d.ExpiresAt.UTC()
	if c.Meta != nil {
		na.Meta = c.Meta
	}
	na.UpdatedBy, na.UpdatedAt = by.ID, &now
	onlines := s.node.Online(ctx, addIDs)
	add := make([]storage.Target, len(addIDs))
	for i, m := range addIDs {
		add[i] = storage.Target{MemberID: m, SMSDueAt: s.smsDue(&na, m, onlines[i], now), SMSPriority: s.pol.Now().SeverityRank(na.Severity)}
		add[i].VoiceDueAt = voiceDue(&na, add[i].SMSDueAt)
	}
	u := &storage.AlertUpdate{ID: id, Severity: na.Severity, Title: na.Title, Body: na.Body, Area: area,
		Villages: na.Villages, ExpiresAt: na.ExpiresAt, Meta: c.Meta, By: by.ID, At: now,
		Add: add, Remove: remove, Import: c.Import}
	ev := &storage.Event{Type: storage.EventAlertUpdate, AlertID: id, Body: EventBody(&na), CreatedAt: now}
	gone := &storage.Event{Type: storage.EventAlertUpdate, AlertID: id, Body: goneBody(&na), CreatedAt: now}
	res, err := s.store.UpdateAlert(ctx, u, ev, gone)
	if err != nil {
		return Updated{}, err
	}
	s.metrics.Stored.WithLabelValues(ev.Type).Inc()
	aa, err := s.compileActive(res.Alert, au)
	if err != nil {
		return Updated{}, err
	}
	s.alerts.put(aa)
	// The added members get the alert (as a member moving in), everyone
	// addressed now the update, each member taken out its own event.
	if len(res.Added) > 0 {
		s.node.Publish(ctx, &hub.Envelope{Type: storage.EventAlert, Seq: res.Alert.Seq, Receipt: id,
			At: now, Frame: aa.frame, Replay: true, Audience: hub.Audience{Members: res.Added}})
	}
	members := make([]string, 0, len(au.ids))
	for _, r := range rs {
		if after[r.MemberID] {
			members = append(members, r.MemberID)
		}
	}
	members = append(members, res.Added...)
	s.node.PublishEvent(ctx, ev, hub.Audience{Members: members, Alert: id})
	for i := range res.Removed {
		s.node.PublishEvent(ctx, &res.Removed[i], hub.Audience{Members: []string{res.Removed[i].MemberID}})
	}
	s.etas.forget()
	s.sms.Wake()
	s.progress.touch(id)
	s.log.InfoContext(ctx, "alert updated", "alert", id, "added", len(res.Added), "removed", len(res.Removed), "by", by.ID)
	return Updated{Alert: res.Alert, Targeted: len(members), Added: len(res.Added), Removed: len(res.Removed)}, nil
}

// CAPImported returns the alert a CAP message (sender, identifier) made,
// updated or cancelled, and what the message was; ErrNotFound when it
// was never imported.
func (s *Service) CAPImported(ctx context.Context, sender, identifier string) (storage.Alert, string, error) {
	imp, id, err := s.store.CAPImported(ctx, sender, identifier)
	if err != nil {
		return storage.Alert{}, "", err
	}
	a, err := s.store.GetAlert(ctx, id)
	return a, imp.MsgType, err
}

// Now is the service's clock (the API dates CAP imports with it).
func (s *Service) Now() time.Time { return s.now() }

// TTLs are the policy's default and longest alert lifetimes.
func (s *Service) TTLs() (def, maxTTL time.Duration) {
	return s.pol.Now().Alerts.DefaultTTL.D(), s.pol.Now().Alerts.MaxTTL.D()
}

// Pending returns the store of the CAP feeds' pending messages (the API
// reads and decides them; docs/API.md v1.6).
func (s *Service) Pending() storage.CAPFeeds { return s.store }
