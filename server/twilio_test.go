package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/notify/twiliofake"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

const (
	fakeSID   = "AC00000000000000000000000000000001"
	fakeToken = "0123456789abcdef0123456789abcdef"
)

// twilioEnv is a hub whose SMS go through the real twilio-go client to an
// in-process fake of Twilio's Messages API, which signs its status
// callbacks to the hub's webhook.
type twilioEnv struct {
	*testEnv
	fake *twiliofake.Server
}

func newTwilioEnv(t *testing.T, mods ...func(*Config)) *twilioEnv {
	t.Helper()
	fake := twiliofake.New(fakeSID, fakeToken)
	fsrv := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); fsrv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	tw, err := notify.NewTwilio(notify.TwilioConfig{
		AccountSID: fakeSID, AuthToken: fakeToken, From: "+15005550006", APIURL: fsrv.URL,
		StatusCallbackURL: public + webhookPath, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.CloseIdleConnections)
	mods = append([]func(*Config){func(c *Config) { c.Sender = tw; c.PublicURL = public }}, mods...)
	return &twilioEnv{testEnv: newEnvOn(t, ln, mods...), fake: fake}
}

// sentTo counts the messages Twilio accepted per phone.
func (e *twilioEnv) sentTo() map[string]int {
	out := map[string]int{}
	for _, m := range e.fake.Messages() {
		out[m.To]++
	}
	return out
}

// TestTwilioOfflineAndSilentMembers: an alert to 500 members of whom 300
// are offline: the 300 get exactly one SMS at once; of the 200 connected,
// the 100 who answer get none and the 100 silent ones get one after the
// delay; delivery callbacks (signed) show in the progress.
func TestTwilioOfflineAndSilentMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("500 members and 200 connections; skipped with -short")
	}
	e := newTwilioEnv(t)
	e.fake.AutoDeliver(50 * time.Millisecond)
	reqs := make([]members.Input, 500)
	for i := range reqs {
		reqs[i] = members.Input{Name: fmt.Sprint("r", i), Phone: fmt.Sprintf("+8613%09d", 700000000+i), Role: storage.RoleResident,
			VillageID: e.villages[0].ID, Home: &inside}
	}
	ms, err := e.h.members.Create(context.Background(), reqs, false)
	if err != nil {
		t.Fatal(err)
	}
	online := make([]*wsClient, 200)
	for i := range online {
		online[i] = e.dial(ms[300+i].Token)
		online[i].welcome()
	}
	code, out := e.call("POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 90, "severity": "extreme"}))
	if code != 201 || num(out["targeted"]) != 500 || num(out["connected"]) != 200 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	for i, c := range online {
		c.nextOf("alert")
		if i < 100 {
			if reply, _ := c.cmd(map[string]any{"type": "ack", "alert_id": alertID, "response": "safe"}); reply["ok"] != true {
				t.Fatalf("ack: %v", reply)
			}
		}
	}
	waitFor(t, "300 SMS to the offline members", func() bool { return len(e.fake.Messages()) >= 300 })
	e.advance(91 * time.Second)
	waitFor(t, "100 more SMS to the silent members", func() bool { return len(e.fake.Messages()) >= 400 })
	time.Sleep(1500 * time.Millisecond) // nothing more may come
	sent := e.sentTo()
	for i, m := range ms {
		want := 1
		if i >= 300 && i < 400 {
			want = 0 // answered in time
		}
		if sent[m.Member.Phone] != want {
			t.Fatalf("member %d (%s) got %d SMS, want %d", i, m.Member.Phone, sent[m.Member.Phone], want)
		}
	}
	if len(e.fake.Messages()) != 400 {
		t.Fatalf("Twilio accepted %d messages, want 400", len(e.fake.Messages()))
	}
	// The fake's signed callbacks mark them delivered.
	waitFor(t, "delivery callbacks in progress", func() bool {
		_, out := e.call("GET", "/api/v1/alerts/"+alertID, e.admin, nil)
		sms := out["progress"].(map[string]any)["sms"].(map[string]any)
		return num(sms["delivered"]) == 400 && num(sms["segments"]) >= 400
	})
	_, out = e.call("GET", "/api/v1/alerts/"+alertID+"/recipients?response=none", e.admin, nil)
	for _, r := range out["recipients"].([]any) {
		if st := r.(map[string]any)["sms_state"]; st != storage.MessageDelivered {
			t.Fatalf("recipient without answer has sms_state %v", st)
		}
	}
}

// TestTwilioRetriesAndPermanentFailures: a burst of 20429 is retried and
// every member gets exactly one SMS; an invalid number fails once and is
// never retried.
func TestTwilioRetriesAndPermanentFailures(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t)
	e.fake.FailNext(20429, http.StatusTooManyRequests, 5)
	e.fake.SetRetryAfter(time.Second)
	var phones []string
	for range 8 {
		m, _ := e.member(storage.RoleResident, 0, inside)
		phones = append(phones, m.Phone)
	}
	bad := phones[7]
	e.fake.FailFor(bad, 21211, http.StatusBadRequest)
	code, out := e.call("POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 0}))
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	waitFor(t, "7 SMS after the 20429 burst", func() bool {
		e.advance(2 * time.Second) // let the retry backoff pass
		return len(e.fake.Messages()) == 7
	})
	time.Sleep(1500 * time.Millisecond)
	sent := e.sentTo()
	for _, p := range phones[:7] {
		if sent[p] != 1 {
			t.Fatalf("%s got %d SMS", p, sent[p])
		}
	}
	if sent[bad] != 0 {
		t.Fatalf("invalid number got an SMS")
	}
	failedRow := func() storage.Message {
		rows, _ := e.store.ListMessages(context.Background(), storage.AlertRef(alertID))
		for _, r := range rows {
			if r.State == storage.MessageFailed {
				return r
			}
		}
		t.Fatalf("no failed row in %+v", rows)
		return storage.Message{}
	}
	r1 := failedRow()
	if r1.ErrorCode != "21211" {
		t.Fatalf("permanent failure row: %+v", r1)
	}
	// Never retried: time passes, nothing changes.
	e.advance(10 * time.Minute)
	time.Sleep(1500 * time.Millisecond)
	if r2 := failedRow(); r2.Attempts != r1.Attempts || e.sentTo()[bad] != 0 {
		t.Fatalf("permanent failure was retried: %+v then %+v", r1, r2)
	}
	_, out = e.call("GET", "/api/v1/alerts/"+alertID, e.admin, nil)
	if sms := out["progress"].(map[string]any)["sms"].(map[string]any); num(sms["failed"]) != 1 || num(sms["sent"])+num(sms["delivered"]) != 7 {
		t.Fatalf("progress sms: %v", sms)
	}
}

// TestTwilioCallbackSignature: a forged or unsigned callback is 403 and
// changes nothing; a genuine one (signed by the fake like Twilio) applies.
func TestTwilioCallbackSignature(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t)
	m, _ := e.member(storage.RoleResident, 0, inside)
	code, out := e.call("POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 0}))
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	waitFor(t, "the SMS", func() bool { return len(e.fake.Messages()) == 1 })
	sid := e.fake.Messages()[0].SID
	waitFor(t, "the SMS recorded as sent", func() bool {
		rows, _ := e.store.ListMessages(context.Background(), storage.AlertRef(alertID))
		return len(rows) == 1 && rows[0].ProviderID == sid
	})
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "To": {m.Phone}, "AccountSid": {fakeSID}}
	post := func(sig string, f url.Values) int {
		req, _ := http.NewRequest("POST", e.srv.URL+webhookPath, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := twiliofake.Signature(fakeToken, e.h.cfg.PublicURL+webhookPath, form)
	forged := twiliofake.Signature("ffffffffffffffffffffffffffffffff", e.h.cfg.PublicURL+webhookPath, form)
	tampered := url.Values{"MessageSid": {sid}, "MessageStatus": {"failed"}, "To": {m.Phone}, "AccountSid": {fakeSID}}
	for name, code := range map[string]int{
		"unsigned": post("", form), "forged": post(forged, form), "tampered": post(good, tampered),
	} {
		if code != http.StatusForbidden {
			t.Errorf("%s callback: %d, want 403", name, code)
		}
	}
	rows, _ := e.store.ListMessages(context.Background(), storage.AlertRef(alertID))
	if rows[0].State != storage.MessageSent {
		t.Fatalf("a refused callback changed the row: %+v", rows[0])
	}
	if code := post(good, form); code != http.StatusNoContent {
		t.Fatalf("genuine callback: %d", code)
	}
	rows, _ = e.store.ListMessages(context.Background(), storage.AlertRef(alertID))
	if rows[0].State != storage.MessageDelivered {
		t.Fatalf("genuine callback not applied: %+v", rows[0])
	}
	// The fake's own callback path, signed like Twilio's, is accepted too.
	if err := e.fake.Deliver(context.Background(), sid, "delivered"); err != nil {
		t.Fatalf("fake Deliver: %v", err)
	}
}
