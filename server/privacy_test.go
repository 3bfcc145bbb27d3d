package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/postgres"
	"github.com/longyou/hub/storage/postgres/pgtest"
)

// lockedBuffer is a log sink several goroutines write to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failingSender fails every SMS with an error that quotes the number, as
// Twilio's error messages do, leaving the outcome unknown.
type failingSender struct{}

func (failingSender) Send(_ context.Context, m notify.Message) (notify.Result, error) {
	return notify.Result{}, errors.New("connection reset while sending to " + m.To)
}

// TestPhonesMaskedInLog: the default log sender, and an error that a
// provider built from the number, never put a phone number in the log,
// at any level; the masked form is there.
func TestPhonesMaskedInLog(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		sender notify.Sender
		want   string // a message the log must have
	}{
		{"log sender", nil, `"msg":"sms"`},
		{"provider error", failingSender{}, "message outcome unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var logs lockedBuffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			e := newEnv(t, func(cfg *Config) { cfg.Logger = log; cfg.Sender = c.sender })
			_, cmdTok := e.member(storage.RoleCommander, -1, outside)
			res, _ := e.member(storage.RoleResident, 0, inside)
			code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 60}))
			if code != 201 {
				t.Fatalf("alert: %d %v", code, out)
			}
			waitFor(t, "the SMS log line", func() bool { return strings.Contains(logs.String(), c.want) })
			masked := res.Phone[:6] + "****" + res.Phone[len(res.Phone)-4:]
			if s := logs.String(); strings.Contains(s, res.Phone) || !strings.Contains(s, masked) {
				t.Fatalf("log has the number %s or lacks %s:\n%s", res.Phone, masked, s)
			}
		})
	}
}

// TestStaleLiveNotReturned: a live position older than the LiveTTL (30
// minutes) is in no answer: the member record (GET /members/{id}, /me,
// PATCH), the patrol list, an alert's recipients.
func TestStaleLiveNotReturned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	p, pTok := e.member(storage.RolePatrol, 0, outside)
	pc := e.dial(pTok)
	pc.welcome()
	if reply, _ := pc.cmd(map[string]any{"type": "locate", "lat": inside.Lat, "lng": inside.Lng}); reply["ok"] != true {
		t.Fatalf("locate: %v", reply)
	}
	code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 2000, nil))
	if code != 201 || num(out["targeted"]) != 1 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	lives := func() map[string]bool {
		got := map[string]bool{}
		_, out := e.call("GET", "/api/v1/members/"+p.ID, cmdTok, nil)
		got["member"] = out["member"].(map[string]any)["live"] != nil
		_, out = e.call("GET", "/api/v1/me", pTok, nil)
		got["me"] = out["member"].(map[string]any)["live"] != nil
		_, out = e.call("PATCH", "/api/v1/members/"+p.ID, cmdTok, map[string]any{"address": "3 组"})
		got["patch"] = out["member"].(map[string]any)["live"] != nil
		_, out = e.call("GET", "/api/v1/members?role=patrol", cmdTok, nil)
		got["list"] = out["members"].([]any)[0].(map[string]any)["live"] != nil
		_, out = e.call("GET", "/api/v1/alerts/"+alertID+"/recipients", cmdTok, nil)
		got["recipients"] = out["recipients"].([]any)[0].(map[string]any)["live"] != nil
		return got
	}
	for k, v := range lives() {
		if !v {
			t.Errorf("%s: no live position while fresh", k)
		}
	}
	e.advance(31 * time.Minute)
	for k, v := range lives() {
		if v {
			t.Errorf("%s: a live position 31 minutes old is returned", k)
		}
	}
}

// phoneJPEG is a w×h JPEG as a phone writes it: an EXIF APP1 segment with
// the camera ("Canon"), orientation 6 and a GPS position (lat N 29° 1'
// 52") right after the start of image.
func phoneJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	tiff := []byte("II*\x00")
	tiff = le.AppendUint32(tiff, 8)
	entry := func(tag, typ uint16, count, value uint32) {
		tiff = le.AppendUint16(tiff, tag)
		tiff = le.AppendUint16(tiff, typ)
		tiff = le.AppendUint32(tiff, count)
		tiff = le.AppendUint32(tiff, value)
	}
	tiff = le.AppendUint16(tiff, 3)
	entry(0x010F, 2, 6, 50) // Make at 50
	entry(0x0112, 3, 1, 6)  // Orientation 6
	entry(0x8825, 4, 1, 56) // GPS IFD at 56
	tiff = le.AppendUint32(tiff, 0)
	tiff = append(tiff, "Canon\x00"...)
	tiff = le.AppendUint16(tiff, 2)
	entry(1, 2, 2, 'N') // GPSLatitudeRef N
	entry(2, 5, 3, 86)  // GPSLatitude at 86
	tiff = le.AppendUint32(tiff, 0)
	for _, r := range []uint32{29, 1, 1, 1, 52, 1} {
		tiff = le.AppendUint32(tiff, r)
	}
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(seg)+2))
	plain := buf.Bytes()
	out := append(append(append([]byte{}, plain[:2]...), app1...), seg...)
	return append(out, plain[2:]...)
}

// TestUploadStripsExif: a phone photo with GPS, camera and orientation is
// served back upright and without any of its metadata.
func TestUploadStripsExif(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	in := phoneJPEG(t, 64, 32)
	code, out := e.callMedia(tok, "image/jpeg", in)
	if code != 201 {
		t.Fatalf("upload: %d %v", code, out)
	}
	id := out["media"].(map[string]any)["id"].(string)
	code, data := e.callRaw("GET", "/api/v1/media/"+id, tok, nil)
	if code != 200 {
		t.Fatalf("get: %d", code)
	}
	for _, s := range []string{"Exif", "Canon", "II*\x00"} {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the served photo still holds %q", s)
		}
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 32 || cfg.Height != 64 {
		t.Fatalf("served photo %+v, %v; want 32×64 (turned upright)", cfg, err)
	}
}

// TestMediaQuotas: a member's files of the day, then the total, refuse
// uploads with 429 and 413 and a message that says which; refused uploads
// are not stored.
func TestMediaQuotas(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Privacy.MediaMemberFiles = 2 })
	_, a := e.member(storage.RoleResident, 0, inside)
	for i := range 2 {
		if code, out := e.callMedia(a, "image/png", pngBytes); code != 201 {
			t.Fatalf("upload %d: %d %v", i, code, out)
		}
	}
	code, out := e.callMedia(a, "image/png", pngBytes)
	msg, _ := out["error"].(map[string]any)["message"].(string)
	if code != 429 || errCode(out) != "rate_limited" || !strings.Contains(msg, "24 hours") {
		t.Fatalf("third upload of the day: %d %v", code, out)
	}
	// A day later the member may upload again.
	e.advance(25 * time.Hour)
	if code, out := e.callMedia(a, "image/png", pngBytes); code != 201 {
		t.Fatalf("upload the next day: %d %v", code, out)
	}

	// The total: room for about two small photos.
	e2 := newEnv(t, func(c *Config) { c.Privacy.MediaTotalBytes = 150 })
	_, b := e2.member(storage.RoleResident, 0, inside)
	n := 0
	for ; n < 10; n++ {
		code, out = e2.callMedia(b, "image/png", pngBytes)
		if code != 201 {
			break
		}
	}
	msg, _ = out["error"].(map[string]any)["message"].(string)
	if n == 0 || n == 10 || code != 413 || errCode(out) != "too_large" || !strings.Contains(msg, "full") {
		t.Fatalf("after %d uploads: %d %v", n, code, out)
	}
}

// TestOrphanMediaRemoved: an upload no report uses is deleted a day
// after it was made; a report's photo stays.
func TestOrphanMediaRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	upload := func() string {
		code, out := e.callMedia(tok, "image/png", pngBytes)
		if code != 201 {
			t.Fatalf("upload: %d %v", code, out)
		}
		return out["media"].(map[string]any)["id"].(string)
	}
	used, orphan := upload(), upload()
	if code, out := e.call("POST", "/api/v1/reports", tok, map[string]any{"kind": "road", "text": "路断",
		"lat": inside.Lat, "lng": inside.Lng, "photos": []string{used}}); code != 201 {
		t.Fatalf("report: %d %v", code, out)
	}
	status := func(id string) int { code, _ := e.callRaw("GET", "/api/v1/media/"+id, tok, nil); return code }
	e.advance(23 * time.Hour)
	if _, err := e.h.RunRetention(context.Background()); err != nil {
		t.Fatal(err)
	}
	if status(orphan) != 200 {
		t.Fatal("an orphan was removed before a day")
	}
	e.advance(2 * time.Hour)
	if _, err := e.h.RunRetention(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := status(orphan); got != 404 {
		t.Errorf("orphan after 25 h: %d, want 404", got)
	}
	if got := status(used); got != 200 {
		t.Errorf("the report's photo after 25 h: %d, want 200", got)
	}
}

// TestExportAndEraseMember: an admin exports everything held about a
// resident (record with phone and live position, answers with notes,
// reports with photos, uploads, SMS rows), then erases it: the record,
// token, connection, photos and texts go, the alert still counts it
// under the erased name, the event log keeps the report without its text,
// no new alert targets it. Others may do neither.
func TestExportAndEraseMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	res, resTok := e.member(storage.RoleResident, 0, inside)
	_, otherTok := e.member(storage.RoleResident, 0, inside)
	rc := e.dial(resTok)
	rc.welcome()
	if reply, _ := rc.cmd(map[string]any{"type": "locate", "lat": inside.Lat, "lng": inside.Lng, "accuracy_m": 5}); reply["ok"] != true {
		t.Fatalf("locate: %v", reply)
	}
	code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 3600}))
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	rc.nextOf("alert")
	if reply, _ := rc.cmd(map[string]any{"type": "ack", "alert_id": alertID, "response": "need_help", "note": "腿受伤，在二楼"}); reply["ok"] != true {
		t.Fatalf("ack: %v", reply)
	}
	code, up := e.callMedia(resTok, "image/png", pngBytes)
	if code != 201 {
		t.Fatalf("upload: %d %v", code, up)
	}
	photo := up["media"].(map[string]any)["id"].(string)
	code, out = e.call("POST", "/api/v1/reports", resTok, map[string]any{"kind": "landslide", "text": "后山滑坡，张三家门口",
		"lat": inside.Lat, "lng": inside.Lng, "photos": []string{photo}})
	if code != 201 {
		t.Fatalf("report: %d %v", code, out)
	}
	reportID := out["report"].(map[string]any)["id"].(string)

	path := "/api/v1/members/" + res.ID
	for _, tok := range []string{cmdTok, resTok, otherTok} {
		if code, _ := e.call("GET", path+"/export", tok, nil); code != 403 {
			t.Errorf("export by a non-admin: %d", code)
		}
		if code, _ := e.call("DELETE", path, tok, nil); code != 403 {
			t.Errorf("erase by a non-admin: %d", code)
		}
	}
	code, raw := e.callRaw("GET", path+"/export", e.admin, nil)
	if code != 200 {
		t.Fatalf("export: %d %s", code, raw)
	}
	for _, want := range []string{res.Phone, "腿受伤，在二楼", "后山滑坡，张三家门口", photo, `"live":{`, `"tokens":{"count":1}`,
		`"alert_id":"` + alertID + `"`, `"channel":"sms"`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("the export lacks %s: %s", want, raw)
		}
	}
	if bytes.Contains(raw, []byte(resTok)) {
		t.Error("the export holds the token")
	}
	if code, out := e.call("DELETE", "/api/v1/members/"+e.adminID(), e.admin, nil); code != 409 {
		t.Errorf("an admin erasing itself: %d %v", code, out)
	}

	code, out = e.call("DELETE", path, e.admin, nil)
	if code != 200 {
		t.Fatalf("erase: %d %v", code, out)
	}
	er := out["erased"].(map[string]any)
	if num(er["tokens"]) != 1 || num(er["reports"]) != 1 || num(er["media"]) != 1 || num(er["notes"]) != 2 {
		t.Errorf("erased: %v", er)
	}
	// Its connection is closed, its token no longer works.
	select {
	case <-rc.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the erased member's WebSocket stayed open")
	}
	if code, _ := e.call("GET", "/api/v1/me", resTok, nil); code != 401 {
		t.Errorf("the erased member's token: %d, want 401", code)
	}
	for _, p := range []string{path, path + "/export"} {
		if code, _ := e.call("GET", p, e.admin, nil); code != 404 {
			t.Errorf("GET %s after erasure: %d, want 404", p, code)
		}
	}
	if code, _ := e.call("DELETE", path, e.admin, nil); code != 404 {
		t.Errorf("erasing twice: %d, want 404", code)
	}
	if code, _ := e.callRaw("GET", "/api/v1/media/"+photo, e.admin, nil); code != 404 {
		t.Errorf("the erased member's photo: %d, want 404", code)
	}
	_, out = e.call("GET", "/api/v1/reports/"+reportID, cmdTok, nil)
	if rep := out["report"].(map[string]any); rep["text"] != "" || len(rep["photos"].([]any)) != 0 || rep["kind"] != "landslide" {
		t.Errorf("the erased member's report: %v", rep)
	}
	_, out = e.call("GET", "/api/v1/alerts/"+alertID+"/recipients", cmdTok, nil)
	found := false
	for _, r := range out["recipients"].([]any) {
		r := r.(map[string]any)
		if r["member_id"] == res.ID {
			found = true
			if r["name"] != storage.ErasedName || r["phone"] != "" || r["note"] != nil || r["live"] != nil || r["response"] != "need_help" {
				t.Errorf("the erased recipient: %v", r)
			}
		}
	}
	if !found {
		t.Error("the alert no longer lists the erased recipient")
	}
	// The event log keeps the report event, without the text.
	oc := e.dial(cmdTok)
	oc.welcome()
	reply, before := oc.cmd(map[string]any{"type": "resume", "since": 0})
	if reply["ok"] != true {
		t.Fatalf("resume: %v", reply)
	}
	reportEvents := 0
	for _, f := range before {
		if f["type"] == "report" {
			reportEvents++
			if r := f["report"].(map[string]any); r["text"] != "" || len(r["photos"].([]any)) != 0 {
				t.Errorf("replayed report event keeps personal data: %v", r)
			}
		}
	}
	if reportEvents != 1 {
		t.Errorf("replayed %d report events, want 1", reportEvents)
	}
	// No new alert targets it (every node's directory forgot it).
	code, out = e.call("POST", "/api/v1/alerts/preview", cmdTok, circleAlert(29.03, 119.17, 2000, nil))
	if code != 200 || num(out["targeted"]) != 1 {
		t.Errorf("preview after erasure: %d %v, want the other resident only", code, out)
	}
}

// adminID is the id of the admin whose token the env holds.
func (e *testEnv) adminID() string {
	e.t.Helper()
	_, out := e.call("GET", "/api/v1/me", e.admin, nil)
	return out["member"].(map[string]any)["id"].(string)
}

// TestRetentionJob: with the clock moved on, the retention job clears
// each kind of personal data once it is past its time (live positions
// 12 h, orphan uploads 24 h, answers' notes 180 days, a resolved report's
// text and photos 365 days) and keeps what is not: checked in the export,
// which shows what the store holds.
func TestRetentionJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	res, resTok := e.member(storage.RolePatrol, 0, inside)
	rc := e.dial(resTok)
	rc.welcome()
	if reply, _ := rc.cmd(map[string]any{"type": "locate", "lat": inside.Lat, "lng": inside.Lng}); reply["ok"] != true {
		t.Fatalf("locate: %v", reply)
	}
	code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 2000, nil))
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	rc.nextOf("alert")
	if reply, _ := rc.cmd(map[string]any{"type": "ack", "alert_id": alertID, "response": "coming", "eta_min": 5, "note": "带沙袋"}); reply["ok"] != true {
		t.Fatalf("ack: %v", reply)
	}
	upload := func() string {
		code, out := e.callMedia(resTok, "image/png", pngBytes)
		if code != 201 {
			t.Fatalf("upload: %d %v", code, out)
		}
		return out["media"].(map[string]any)["id"].(string)
	}
	photo, orphan := upload(), upload()
	_, out = e.call("POST", "/api/v1/reports", resTok, map[string]any{"kind": "road", "text": "桥断了",
		"lat": inside.Lat, "lng": inside.Lng, "photos": []string{photo}})
	reportID := out["report"].(map[string]any)["id"].(string)
	if code, out := e.call("PATCH", "/api/v1/reports/"+reportID, cmdTok, map[string]any{"status": "resolved"}); code != 200 {
		t.Fatalf("resolve: %d %v", code, out)
	}
	_, openOut := e.call("POST", "/api/v1/reports", resTok, map[string]any{"kind": "water", "text": "停水", "lat": inside.Lat, "lng": inside.Lng})
	openID := openOut["report"].(map[string]any)["id"].(string)

	type held struct{ live, orphan, photo, note, text, openText bool }
	state := func() held {
		t.Helper()
		code, raw := e.callRaw("GET", "/api/v1/members/"+res.ID+"/export", e.admin, nil)
		if code != 200 {
			t.Fatalf("export: %d %s", code, raw)
		}
		var x struct {
			Export MemberExportForTest `json:"export"`
		}
		if err := json.Unmarshal(raw, &x); err != nil {
			t.Fatal(err)
		}
		h := held{live: x.Export.Member.Live != nil}
		for _, m := range x.Export.Media {
			h.orphan = h.orphan || m.ID == orphan
			h.photo = h.photo || m.ID == photo
		}
		for _, a := range x.Export.Answers {
			h.note = h.note || a.Note == "带沙袋"
		}
		for _, r := range x.Export.Reports {
			switch r.ID {
			case reportID:
				h.text = r.Text == "桥断了" && len(r.Photos) == 1
			case openID:
				h.openText = r.Text == "停水"
			}
		}
		return h
	}
	run := func(after time.Duration) held {
		t.Helper()
		e.advance(after)
		if _, err := e.h.RunRetention(context.Background()); err != nil {
			t.Fatal(err)
		}
		return state()
	}
	day := 24 * time.Hour
	steps := []struct {
		after time.Duration
		want  held
	}{
		{0, held{live: true, orphan: true, photo: true, note: true, text: true, openText: true}},
		{11 * time.Hour, held{live: true, orphan: true, photo: true, note: true, text: true, openText: true}},
		{2 * time.Hour, held{live: false, orphan: true, photo: true, note: true, text: true, openText: true}},
		{12 * time.Hour, held{live: false, orphan: false, photo: true, note: true, text: true, openText: true}},
		{178 * day, held{live: false, orphan: false, photo: true, note: true, text: true, openText: true}},
		{2 * day, held{live: false, orphan: false, photo: true, note: false, text: true, openText: true}},
		{183 * day, held{live: false, orphan: false, photo: true, note: false, text: true, openText: true}},
		{2 * day, held{live: false, orphan: false, photo: false, note: false, text: false, openText: true}},
	}
	elapsed := time.Duration(0)
	for _, st := range steps {
		elapsed += st.after
		if got := run(st.after); got != st.want {
			t.Errorf("after %v: held %+v, want %+v", elapsed, got, st.want)
		}
	}
}

// MemberExportForTest is what TestRetentionJob reads of an export.
type MemberExportForTest struct {
	Member struct {
		Live any `json:"live"`
	} `json:"member"`
	Media   []struct{ ID string } `json:"media"`
	Answers []struct {
		Note string `json:"note"`
	} `json:"answers"`
	Reports []struct {
		ID     string   `json:"id"`
		Text   string   `json:"text"`
		Photos []string `json:"photos"`
	} `json:"reports"`
}

// TestReadyzStoreCannotWrite: a PostgreSQL that answers reads but refuses
// writes (default_transaction_read_only, as a standby does after a
// failover, or a server out of disk refuses): /readyz answers 503 with
// "store":"cannot write" and no details, and 200 again once it can
// write. (The SQLite store's probe on a read-only writer is tested in
// storage/sqlite; as root, a file's mode cannot make SQLite read-only.)
func TestReadyzStoreCannotWrite(t *testing.T) {
	t.Parallel()
	u := pgtest.TestURL(t)
	ctx := context.Background()
	store, err := postgres.Open(ctx, u, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := newEnv(t, func(c *Config) { c.Store = store })
	admin, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var db string
	if err := admin.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	readOnly := func(on bool) {
		t.Helper()
		v := map[bool]string{true: "on", false: "off"}[on]
		if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` SET default_transaction_read_only = `+v); err != nil {
			t.Fatal(err)
		}
		// The hub's connections start again with the setting.
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid()`, db); err != nil {
			t.Fatal(err)
		}
	}
	var body []byte
	ready := func(want int) func() bool {
		return func() bool {
			var code int
			code, body = e.callRaw("GET", "/readyz", "", nil)
			return code == want
		}
	}
	waitFor(t, "ready before", ready(200))
	readOnly(true)
	// (Right after the cut, the pool's dead connections may fail a ping
	// first: "unavailable".)
	waitFor(t, "/readyz 503 while the store cannot write", func() bool {
		return ready(503)() && bytes.Contains(body, []byte(`"store":"cannot write"`))
	})
	if bytes.Contains(body, []byte(db)) || bytes.Contains(body, []byte("read-only")) {
		t.Errorf("/readyz body: %s", body)
	}
	readOnly(false)
	waitFor(t, "/readyz 200 once the store can write", ready(200))
}
