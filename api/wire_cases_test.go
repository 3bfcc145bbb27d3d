package api

import (
	"testing"

	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/service/board"
	"github.com/longyou/hub/service/bulletins"
	"github.com/longyou/hub/service/reports"
	"github.com/longyou/hub/storage"
)

// wireCases builds each golden as the code sends it: through the wire
// types and the functions the handlers, the WebSocket transport and the
// services call.
func wireCases(t *testing.T) []wireCase {
	residentView := func(al storage.Alert) *Alert {
		v := alertView(&al, al.Status)
		v.CreatedBy, v.SMSFallbackAfterS, v.VoiceAfterS = "", nil, nil // as handleListAlerts does for residents
		return v
	}
	nl := func(b []byte) []byte { return append(b, '\n') }
	welcome := func(m storage.Member, seq int64) []byte {
		// As hub.Node.welcome wraps the bytes api hands it.
		return frameBytes(t, map[string]any{"type": "welcome", "member": memberJSON(&m), "seq": seq})
	}
	return []wireCase{
		{"village_create", httpBody(t, map[string]any{"village": villageView(&wVillage)})},
		{"villages_list", httpBody(t, map[string]any{"villages": views([]storage.Village{wVillage, wVillageDemo}, villageView)})},
		{"villages_empty", httpBody(t, map[string]any{"villages": views([]storage.Village{}, villageView)})},

		{"member_create", httpBody(t, NewMember{Member: memberView(&wMemberFull), Token: "tok_1"})},
		{"member_create_min", httpBody(t, NewMember{Member: memberView(&wMemberMin), Token: "tok_2"})},
		{"member_get_full", httpBody(t, map[string]any{"member": memberView(&wMemberFull)})},
		{"member_get_min", httpBody(t, map[string]any{"member": memberView(&wMemberMin)})},
		{"member_get_live0", httpBody(t, map[string]any{"member": memberView(&wMemberLive0)})},
		{"members_list", httpBody(t, map[string]any{"members": views([]storage.Member{wMemberFull, wMemberMin, wMemberLive0}, memberView)})},
		{"members_list_nil", httpBody(t, map[string]any{"members": views([]storage.Member(nil), memberView)})},
		{"members_list_empty", httpBody(t, map[string]any{"members": views([]storage.Member{}, memberView)})},
		{"ws_welcome", welcome(wMemberFull, 42)},
		{"ws_welcome_min", welcome(wMemberMin, 0)},

		{"alert_create", httpBody(t, map[string]any{"alert": alertView(&wAlertCircle, storage.AlertActive), "targeted": 3, "connected": 1})},
		{"alert_get", httpBody(t, map[string]any{"alert": alertView(&wAlertVillages, storage.AlertExpired), "progress": alerting.ProgressView(wProgress)})},
		{"alert_get_nil_progress", httpBody(t, map[string]any{"alert": alertView(&wAlertCancelled, storage.AlertCancelled), "progress": alerting.ProgressView(wProgressNil)})},
		{"alert_cancel", httpBody(t, map[string]any{"alert": alertView(&wAlertCancelled, storage.AlertCancelled)})},
		{"alerts_list", httpBody(t, map[string]any{"alerts": []*Alert{
			alertView(&wAlertCircle, storage.AlertActive), alertView(&wAlertVillages, storage.AlertActive), alertView(&wAlertCancelled, storage.AlertCancelled)}})},
		{"alerts_list_resident", httpBody(t, map[string]any{"alerts": []*Alert{residentView(wAlertCircle), residentView(wAlertVillages)}})},
		{"alerts_list_empty", httpBody(t, map[string]any{"alerts": []*Alert{}})},
		{"recipients", httpBody(t, map[string]any{"recipients": views([]storage.Recipient{wRecipientFull, wRecipientMin}, recipientView)})},
		{"recipients_empty", httpBody(t, map[string]any{"recipients": views([]storage.Recipient{}, recipientView)})},
		{"ws_alert_progress", frameBytes(t, map[string]any{"type": "alert_progress", "alert_id": "a_1", "status": "active", "progress": alerting.ProgressView(wProgress)})},
		{"event_alert", nl(alerting.EventBody(&wAlertCircle))},
		{"event_alert_villages", nl(alerting.EventBody(&wAlertVillages))},

		{"report_create", httpBody(t, map[string]any{"report": reports.View(&wReport)})},
		{"report_no_photos", httpBody(t, map[string]any{"report": reports.View(&wReportNoPhotos)})},
		{"report_nil_photos", httpBody(t, map[string]any{"report": reports.View(&wReportNilPhotos)})},
		{"reports_list", httpBody(t, map[string]any{"reports": reports.Views([]storage.Report{wReport, wReportNoPhotos})})},
		{"reports_empty", httpBody(t, map[string]any{"reports": reports.Views([]storage.Report{})})},
		{"ws_report_reply", frameBytes(t, map[string]any{"type": "reply", "id": "4", "ok": true, "data": map[string]any{"report": reports.View(&wReport)}})},
		{"event_report", nl(reports.EventBody(&wReport))},
		{"event_report_no_photos", nl(reports.EventBody(&wReportNoPhotos))},

		{"bulletin_create", httpBody(t, map[string]any{"bulletin": bulletins.View(&wBulletin)})},
		{"bulletins_list", httpBody(t, map[string]any{"bulletins": bulletins.Views([]storage.Bulletin{wBulletin, wBulletinCounty})})},
		{"bulletins_empty", httpBody(t, map[string]any{"bulletins": bulletins.Views([]storage.Bulletin{})})},
		{"event_bulletin", nl(bulletins.EventBody(&wBulletin))},
		{"event_bulletin_county", nl(bulletins.EventBody(&wBulletinCounty))},

		// v1.6 the village board (api/board.go, service/board).
		{"board_page", httpBody(t, boardPageCase())},
		{"event_board_deed", httpBody(t, board.EventBody{VillageID: "v_1", Item: board.Item{Type: storage.ItemDeed, Deed: ptr(board.DeedView(&wDeed, "王小明", false))}})},
	}
}

var wDeed = storage.Deed{ID: "dd_1", VillageID: "v_1", Title: "扶老人过河", Text: "雨天", Photos: []string{"md_3"},
	About: "王大伯", HouseholdID: "h_1", AuthorID: "m_1", Status: storage.DeedConfirmed, DecidedBy: "m_2",
	DecidedAt: wReport.UpdatedAt, CreatedAt: wReport.CreatedAt, Likes: 2, Seq: 14}

func ptr[T any](v T) *T { return &v }

// boardPageCase is GET /board's answer as handleBoard writes it.
func boardPageCase() map[string]any {
	pub := wReport
	pub.Visibility, pub.RectificationPhotos, pub.Likes, pub.Urges = storage.VisibilityPublic, []string{"md_9"}, 3, 1
	rv := board.PublicView(&pub, "张三", &reports.Place{Village: "", Name: "东溪桥", Kind: "bridge", DistM: 40})
	rv.Liked, rv.Urged = ptr(true), ptr(false)
	dv := board.DeedView(&wDeed, "王小明", false)
	dv.Liked = ptr(false)
	return map[string]any{"village_id": "v_1", "items": []board.Item{{Type: storage.ItemReport, Report: &rv},
		{Type: storage.ItemDeed, Deed: &dv}}, "rate": board.RateOf(storage.BoardTally{Public: 4, Rejected: 1, Resolved: 2}),
		"next_before": ""}
}
