package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// wireCases builds each golden as the code sends it.
func wireCases(t *testing.T) []wireCase {
	// alertView as the handlers build it, with the status as of now.
	alertView := func(al storage.Alert, status string) *storage.Alert {
		v := al
		v.Status = status
		if v.Roles == nil {
			v.Roles = []storage.Role{}
		}
		return &v
	}
	residentView := func(al storage.Alert) *storage.Alert {
		v := alertView(al, al.Status)
		v.CreatedBy, v.SMSFallbackAfterS = "", nil
		return v
	}
	// The event bodies the services store and replay.
	type alertEvent struct {
		ID        string          `json:"id"`
		Kind      string          `json:"kind"`
		Severity  string          `json:"severity"`
		Title     string          `json:"title"`
		Body      string          `json:"body"`
		Area      json.RawMessage `json:"area"`
		CreatedAt time.Time       `json:"created_at"`
		ExpiresAt time.Time       `json:"expires_at"`
	}
	alertBody := func(a storage.Alert) []byte {
		b, _ := json.Marshal(alertEvent{ID: a.ID, Kind: a.Kind, Severity: a.Severity, Title: a.Title, Body: a.Body,
			Area: a.Area, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt})
		return append(b, '\n')
	}
	reportBody := func(r storage.Report) []byte {
		view := r
		view.Seq = 0
		b, _ := json.Marshal(&view)
		return append(b, '\n')
	}
	bulletinBody := func(b storage.Bulletin) []byte {
		view := b
		out, _ := json.Marshal(&view)
		return append(out, '\n')
	}
	bNew := wBulletin
	bNew.Seq = 0 // a bulletin's event body is marshalled before its seq is known

	return []wireCase{
		{"village_create", httpBody(t, map[string]any{"village": wVillage})},
		{"villages_list", httpBody(t, map[string]any{"villages": []storage.Village{wVillage, wVillageDemo}})},
		{"villages_empty", httpBody(t, map[string]any{"villages": []storage.Village{}})},

		{"member_create", httpBody(t, newMemberJSON{Member: wMemberFull, Token: "tok_1"})},
		{"member_create_min", httpBody(t, newMemberJSON{Member: wMemberMin, Token: "tok_2"})},
		{"member_get_full", httpBody(t, map[string]any{"member": wMemberFull})},
		{"member_get_min", httpBody(t, map[string]any{"member": wMemberMin})},
		{"member_get_live0", httpBody(t, map[string]any{"member": wMemberLive0})},
		{"members_list", httpBody(t, map[string]any{"members": []storage.Member{wMemberFull, wMemberMin, wMemberLive0}})},
		{"members_list_nil", httpBody(t, map[string]any{"members": []storage.Member(nil)})},
		{"members_list_empty", httpBody(t, map[string]any{"members": []storage.Member{}})},
		{"ws_welcome", frameBytes(t, map[string]any{"type": "welcome", "member": wMemberFull, "seq": 42})},
		{"ws_welcome_min", frameBytes(t, map[string]any{"type": "welcome", "member": wMemberMin, "seq": 0})},

		{"alert_create", httpBody(t, map[string]any{"alert": alertView(wAlertCircle, storage.AlertActive), "targeted": 3, "connected": 1})},
		{"alert_get", httpBody(t, map[string]any{"alert": alertView(wAlertVillages, storage.AlertExpired), "progress": wProgress})},
		{"alert_get_nil_progress", httpBody(t, map[string]any{"alert": alertView(wAlertCancelled, storage.AlertCancelled), "progress": wProgressNil})},
		{"alert_cancel", httpBody(t, map[string]any{"alert": alertView(wAlertCancelled, storage.AlertCancelled)})},
		{"alerts_list", httpBody(t, map[string]any{"alerts": []*storage.Alert{
			alertView(wAlertCircle, storage.AlertActive), alertView(wAlertVillages, storage.AlertActive), alertView(wAlertCancelled, storage.AlertCancelled)}})},
		{"alerts_list_resident", httpBody(t, map[string]any{"alerts": []*storage.Alert{residentView(wAlertCircle), residentView(wAlertVillages)}})},
		{"alerts_list_empty", httpBody(t, map[string]any{"alerts": []*storage.Alert{}})},
		{"recipients", httpBody(t, map[string]any{"recipients": []storage.Recipient{wRecipientFull, wRecipientMin}})},
		{"recipients_empty", httpBody(t, map[string]any{"recipients": []storage.Recipient{}})},
		{"ws_alert_progress", frameBytes(t, map[string]any{"type": "alert_progress", "alert_id": "a_1", "status": "active", "progress": wProgress})},
		{"event_alert", alertBody(wAlertCircle)},
		{"event_alert_villages", alertBody(wAlertVillages)},

		{"report_create", httpBody(t, map[string]any{"report": wReport})},
		{"report_no_photos", httpBody(t, map[string]any{"report": wReportNoPhotos})},
		{"report_nil_photos", httpBody(t, map[string]any{"report": wReportNilPhotos})},
		{"reports_list", httpBody(t, map[string]any{"reports": []storage.Report{wReport, wReportNoPhotos}})},
		{"reports_empty", httpBody(t, map[string]any{"reports": []storage.Report{}})},
		{"ws_report_reply", frameBytes(t, map[string]any{"type": "reply", "id": "4", "ok": true, "data": map[string]any{"report": wReport}})},
		{"event_report", reportBody(wReport)},
		{"event_report_no_photos", reportBody(wReportNoPhotos)},

		{"bulletin_create", httpBody(t, map[string]any{"bulletin": wBulletin})},
		{"bulletins_list", httpBody(t, map[string]any{"bulletins": []storage.Bulletin{wBulletin, wBulletinCounty}})},
		{"bulletins_empty", httpBody(t, map[string]any{"bulletins": []storage.Bulletin{}})},
		{"event_bulletin", bulletinBody(bNew)},
		{"event_bulletin_county", bulletinBody(wBulletinCounty)},
	}
}
