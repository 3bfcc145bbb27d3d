package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// updateGolden rewrites testdata/wire/*.json from the code as it is: run
// it only when a change of the wire format is meant (docs/API.md says
// what may change), never to make a refactoring pass.
var updateGolden = flag.Bool("update", false, "rewrite the wire goldens in testdata/wire")

// Fixtures of every record that reaches a client, with each optional
// field both set and unset. Times carry microseconds, as the stores keep.
var (
	wt0   = time.Date(2026, 7, 1, 8, 0, 0, 123456000, time.UTC)
	wt1   = wt0.Add(90*time.Minute + 250*time.Millisecond)
	wEta  = 12
	wFall = 60

	wVillage     = storage.Village{ID: "v_1", Name: "上溪村", Township: "T", Center: storage.LatLng{Lat: 29.03, Lng: 119.17}, CreatedAt: wt0}
	wVillageDemo = storage.Village{ID: "v_2", Name: "Demo", Township: "", Center: storage.LatLng{Lat: -1.5, Lng: 0}, Demo: true, CreatedAt: wt1}

	wMemberFull = storage.Member{ID: "m_1", Name: "王大伯", Phone: "+8613800000001", Role: storage.RolePatrol,
		VillageID: "v_1", Home: &storage.LatLng{Lat: 29.031, Lng: 119.171}, Lang: "en", Demo: true, CreatedAt: wt0,
		Live: &storage.Position{Lat: 29.04, Lng: 119.18, AccuracyM: 7.5, At: wt1}}
	wMemberMin = storage.Member{ID: "m_2", Name: "admin", Role: storage.RoleAdmin, CreatedAt: wt0}
	// A live position without accuracy: accuracy_m is left out.
	wMemberLive0 = storage.Member{ID: "m_3", Name: "r", Phone: "+8613800000003", Role: storage.RoleResident,
		VillageID: "v_1", CreatedAt: wt0, Live: &storage.Position{Lat: 1, Lng: 2, At: wt1}}

	wAlertCircle = storage.Alert{ID: "a_1", Kind: "warning", Severity: "severe", Title: "山洪预警", Body: "请立即转移",
		Area:  json.RawMessage(`{"circle":{"lat":29.03,"lng":119.17,"radius_m":3000}}`),
		Roles: []storage.Role{storage.RoleResident, storage.RolePatrol}, CreatedBy: "m_9", CreatedAt: wt0,
		ExpiresAt: wt0.Add(24 * time.Hour), Status: storage.AlertActive, SMSFallbackAfterS: &wFall, Seq: 7, VoiceAfterS: &wFall}
	wAlertVillages = storage.Alert{ID: "a_2", Kind: "mobilization", Severity: "minor", Title: "t", Body: "",
		Area: json.RawMessage(`{"villages":["v_1","v_2"]}`), Villages: []string{"v_1", "v_2"}, CreatedBy: "m_9",
		CreatedAt: wt0, ExpiresAt: wt1, Status: storage.AlertActive, Seq: 8}
	wAlertCancelled = storage.Alert{ID: "a_3", Kind: "all_clear", Severity: "extreme", Title: "t", Body: "b",
		Area: json.RawMessage(`{"polygon":[[29,119],[29.1,119],[29,119.1]]}`), Roles: []storage.Role{storage.RoleCadre},
		CreatedBy: "m_9", CreatedAt: wt0, ExpiresAt: wt1, Status: storage.AlertCancelled, CancelledAt: &wt1,
		SMSFallbackAfterS: new(int), Seq: 9, CancelSeq: 11}

	wProgress = storage.Progress{Targeted: 9, Delivered: 4,
		Acked: map[string]int{"received": 1, "safe": 2, "need_help": 0, "coming": 3, "unavailable": 0},
		SMS:   storage.SMSCounts{Queued: 2, Sent: 1, Delivered: 1, Failed: 1, Segments: 4},
		Voice: storage.SMSCounts{Queued: 1, Sent: 2, Delivered: 3, Failed: 4}}
	wProgressNil = storage.Progress{}

	wRecipientFull = storage.Recipient{MemberID: "m_1", Name: "王大伯", Phone: "+8613800000001", Role: storage.RolePatrol,
		VillageID: "v_1", TargetedAt: wt0, DeliveredAt: &wt0, Response: "coming", RespondedAt: &wt1, EtaMin: &wEta,
		Note: "on my way", SMSState: "delivered", VoiceState: "failed", Live: &storage.Position{Lat: 29.2, Lng: 119.2, AccuracyM: 5, At: wt0},
		Home: &storage.LatLng{Lat: 29.1, Lng: 119.1}}
	wRecipientMin = storage.Recipient{MemberID: "m_2", Name: "r", Phone: "", Role: storage.RoleCommander, TargetedAt: wt0}

	wReport = storage.Report{ID: "r_1", Kind: "flood", Text: "水漫过桥", Lat: 29.03, Lng: 119.17, Photos: []string{"md_1", "md_2"},
		MemberID: "m_1", VillageID: "v_1", Status: storage.ReportAccepted, Feedback: "已收到", CreatedAt: wt0, UpdatedAt: wt1,
		DueAt: wt0.Add(30 * time.Minute), Seq: 12, ClientID: "c-1"}
	wReportNoPhotos = storage.Report{ID: "r_2", Kind: "other", Text: "", Lat: -10, Lng: 0, Photos: []string{},
		MemberID: "m_3", VillageID: "v_2", Status: storage.ReportNew, CreatedAt: wt0, UpdatedAt: wt0, DueAt: wt0.Add(24 * time.Hour), Seq: 13}
	wReportNilPhotos = storage.Report{ID: "r_3", Kind: "fire", Photos: nil, MemberID: "m_3", Status: storage.ReportNew}

	wBulletin       = storage.Bulletin{ID: "b_1", VillageID: "v_1", Category: "notice", Title: "停水通知", Body: "明天停水", AuthorID: "m_9", PublishedAt: wt0, Seq: 20}
	wBulletinCounty = storage.Bulletin{ID: "b_2", VillageID: "", Category: "jobs", Title: "t", Body: "", AuthorID: "m_8", PublishedAt: wt1}
)

// httpBody is what writeJSON sends for v.
func httpBody(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b.Bytes()
}

func frameBytes(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return append(b, '\n')
}

// TestWireGolden pins the JSON of every object the hub sends (HTTP
// bodies, WebSocket frames, event bodies stored in the log and replayed)
// byte for byte: the pages (web/src/js) and the load tester read it, and
// event bodies already stored are replayed as they are.
func TestWireGolden(t *testing.T) {
	cases := wireCases(t)
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("case %s twice", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join("testdata", "wire", c.name+".json")
			if *updateGolden {
				if err := os.WriteFile(path, c.got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("golden: %v (run with -update to create it)", err)
			}
			if !bytes.Equal(c.got, want) {
				t.Errorf("JSON changed\n got: %s\nwant: %s", c.got, want)
			}
		})
	}
	if !*updateGolden {
		files, _ := filepath.Glob(filepath.Join("testdata", "wire", "*.json"))
		if len(files) != len(cases) {
			t.Errorf("%d goldens, %d cases: remove the stale ones", len(files), len(cases))
		}
	}
}

type wireCase struct {
	name string
	got  []byte
}
