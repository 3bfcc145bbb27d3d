package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/notify/twiliofake"
	"github.com/longyou/hub/storage"
)

// Voice calls and SMS replies (issue 12) through real HTTP, the real
// twilio-go client and the Twilio fake.

const hubNumber = "+15005550006" // the fake's sender number (newTwilioEnv)

// reply sends an inbound SMS from a phone to the hub, signed as Twilio
// does, and checks the hub's answer: 200 with empty TwiML.
func (e *twilioEnv) reply(t *testing.T, sid, from, body string) {
	t.Helper()
	code, out, err := e.fake.InboundSMS(t.Context(), e.srv.URL+"/webhooks/twilio/sms", sid, from, hubNumber, body)
	if err != nil || code != http.StatusOK || !strings.Contains(out, "<Response/>") {
		t.Fatalf("inbound SMS %q: %d %q %v", body, code, out, err)
	}
}

// sendAlert posts an alert to village 0's circle and returns its id.
func (e *twilioEnv) sendAlert(t *testing.T, tok string, extra map[string]any) string {
	t.Helper()
	code, out := e.call("POST", "/api/v1/alerts", tok, circleAlert(29.03, 119.17, 2000, extra))
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	return out["alert"].(map[string]any)["id"].(string)
}

// answerOf is the member's answer to the alert as the recipients list
// shows it, with its voice state.
func (e *twilioEnv) answerOf(t *testing.T, tok, alertID, memberID string) (response, voiceState string) {
	t.Helper()
	code, out := e.call("GET", "/api/v1/alerts/"+alertID+"/recipients", tok, nil)
	if code != 200 {
		t.Fatalf("recipients: %d %v", code, out)
	}
	for _, r := range out["recipients"].([]any) {
		r := r.(map[string]any)
		if r["member_id"] == memberID {
			return r["response"].(string), r["voice_state"].(string)
		}
	}
	t.Fatalf("member %s is not a recipient of %s", memberID, alertID)
	return "", ""
}

// progressOf is the alert's progress (GET /api/v1/alerts/{id}).
func (e *twilioEnv) progressOf(t *testing.T, tok, alertID string) map[string]any {
	t.Helper()
	code, out := e.call("GET", "/api/v1/alerts/"+alertID, tok, nil)
	if code != 200 {
		t.Fatalf("get alert: %d %v", code, out)
	}
	return out["progress"].(map[string]any)
}

func acked(p map[string]any, resp string) int64 { return num(p["acked"].(map[string]any)[resp]) }

func voiceCount(p map[string]any, state string) int64 { return num(p["voice"].(map[string]any)[state]) }

func (e *twilioEnv) callsTo(phone string) []twiliofake.Call {
	var out []twiliofake.Call
	for _, c := range e.fake.Calls() {
		if c.To == phone {
			out = append(out, c)
		}
	}
	return out
}

// TestSMSReplyAnswersLatestAlert: "3" from a member's phone is need_help on
// the latest active alert addressed to it, in the progress at once; a
// retried MessageSid counts once; a mobilization reads "来 12" as coming
// in 12 minutes.
func TestSMSReplyAnswersLatestAlert(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t)
	_, cmd := e.member(storage.RoleCommander, -1, outside)
	r := e.residents(2)
	first := e.sendAlert(t, cmd, nil)
	latest := e.sendAlert(t, cmd, nil)

	e.reply(t, "SMreply0001", r[0].Member.Phone, " ３ ")
	if resp, _ := e.answerOf(t, cmd, latest, r[0].Member.ID); resp != storage.RespNeedHelp {
		t.Fatalf("latest alert's answer = %q, want need_help", resp)
	}
	if p := e.progressOf(t, cmd, latest); acked(p, storage.RespNeedHelp) != 1 {
		t.Errorf("progress %v, want need_help 1", p)
	}
	if p := e.progressOf(t, cmd, first); acked(p, storage.RespNeedHelp) != 0 {
		t.Errorf("the older alert got the answer: %v", p)
	}

	// 安全 (another message) then a retry of the first "3": still safe.
	e.reply(t, "SMreply0002", r[0].Member.Phone, "安全。")
	e.reply(t, "SMreply0001", r[0].Member.Phone, "3")
	if resp, _ := e.answerOf(t, cmd, latest, r[0].Member.ID); resp != storage.RespSafe {
		t.Fatalf("after a retried MessageSid the answer is %q, want safe", resp)
	}
	hist, err := e.store.(storage.Store).AckHistory(t.Context(), latest, r[0].Member.ID)
	if err != nil || len(hist) != 2 {
		t.Errorf("answer history %+v %v, want need_help then safe", hist, err)
	}

	mob := e.sendAlert(t, cmd, map[string]any{"kind": "mobilization", "roles": []string{"resident"}})
	e.reply(t, "", r[1].Member.Phone, "来 12")
	code, out := e.call("GET", "/api/v1/alerts/"+mob+"/recipients", cmd, nil)
	if code != 200 {
		t.Fatalf("recipients: %d", code)
	}
	for _, x := range out["recipients"].([]any) {
		x := x.(map[string]any)
		if x["member_id"] == r[1].Member.ID && (x["response"] != storage.RespComing || num(x["eta_min"]) != 12) {
			t.Errorf("mobilization answer %v, want coming in 12", x)
		}
	}
	if n := len(e.fake.Messages()); n != 0 {
		t.Errorf("%d SMS sent in answer to readable replies, want none", n)
	}
}

// TestSMSReplyUnknownAndUnreadable: a reply from an unknown number, from
// the hub's own number or from a member with no active alert changes
// nothing and sends nothing; an unreadable one gets exactly one help SMS
// however often it is repeated (or retried).
func TestSMSReplyUnknownAndUnreadable(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t)
	_, cmd := e.member(storage.RoleCommander, -1, outside)
	r := e.residents(1)
	idle, _ := e.member(storage.RoleResident, 0, outside) // no alert
	alert := e.sendAlert(t, cmd, nil)

	e.reply(t, "", "+8613999999999", "3")
	e.reply(t, "", hubNumber, "hello")
	e.reply(t, "", idle.Phone, "what")
	if p := e.progressOf(t, cmd, alert); acked(p, storage.RespNeedHelp) != 0 {
		t.Errorf("an unknown number answered: %v", p)
	}

	e.reply(t, "SMstop", r[0].Member.Phone, "STOP") // Twilio answers it: no help SMS
	e.reply(t, "SMbad0001", r[0].Member.Phone, "hello?")
	e.reply(t, "SMbad0001", r[0].Member.Phone, "hello?") // Twilio's retry
	e.reply(t, "SMbad0002", r[0].Member.Phone, "嗯")
	e.reply(t, "SMbad0003", r[0].Member.Phone, "4")
	waitFor(t, "the help SMS", func() bool { return len(e.fake.Messages()) >= 1 })
	help := 0
	for _, sid := range []string{"SMstop", "SMbad0001", "SMbad0002", "SMbad0003"} {
		rows, err := e.store.ListMessages(t.Context(), storage.Ref{Type: storage.RefReply, ID: sid})
		if err != nil {
			t.Fatal(err)
		}
		help += len(rows)
	}
	if help != 1 {
		t.Errorf("%d help messages queued, want 1", help)
	}
	// The one help message was sent: everything queued has gone out.
	waitFor(t, "the outbox drained", func() bool {
		rows, _ := e.store.ListMessages(t.Context(), storage.Ref{Type: storage.RefReply, ID: "SMbad0001"})
		return len(rows) == 1 && rows[0].State == storage.MessageSent
	})
	msgs := e.fake.Messages()
	if len(msgs) != 1 || msgs[0].To != r[0].Member.Phone || msgs[0].Body != notify.ReplyHelpText("") {
		t.Errorf("sent %+v, want one help SMS to the member", msgs)
	}
	if resp, _ := e.answerOf(t, cmd, alert, r[0].Member.ID); resp != "" {
		t.Errorf("an unreadable reply answered %q", resp)
	}
}

// TestTwilioWebhooksRefuseBadSignatures: the three v1.5 webhooks answer 403
// to a forged or unsigned request and change nothing.
func TestTwilioWebhooksRefuseBadSignatures(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t)
	_, cmd := e.member(storage.RoleCommander, -1, outside)
	r := e.residents(1)
	alert := e.sendAlert(t, cmd, nil)
	for _, c := range []struct{ path, sig string }{
		{"/webhooks/twilio/sms", ""},
		{"/webhooks/twilio/sms", "forged"},
		{"/webhooks/twilio/voice/gather?k=" + notify.GatherKey(alert, r[0].Member.ID), "forged"},
		{"/webhooks/twilio/voice/status", twiliofake.Signature("wrong-token", e.srv.URL+"/webhooks/twilio/voice/status", nil)},
	} {
		form := url.Values{"MessageSid": {"SMforged"}, "From": {r[0].Member.Phone}, "Body": {"3"}, "Digits": {"3"},
			"CallSid": {"CAx"}, "CallStatus": {"completed"}}
		req, _ := http.NewRequest("POST", e.srv.URL+c.path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.sig != "" {
			req.Header.Set("X-Twilio-Signature", c.sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with signature %q: %d, want 403", c.path, c.sig, resp.StatusCode)
		}
	}
	if resp, _ := e.answerOf(t, cmd, alert, r[0].Member.ID); resp != "" {
		t.Errorf("a forged webhook answered %q", resp)
	}
}

// TestVoiceCallKeyPress: an extreme alert calls the offline member right
// after its SMS (voice_after_s 0); an unknown key replays the prompt, key
// 2 records safe; the answered call shows as delivered.
func TestVoiceCallKeyPress(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t)
	_, cmd := e.member(storage.RoleCommander, -1, outside)
	r := e.residents(1)
	alert := e.sendAlert(t, cmd, map[string]any{"severity": "extreme", "sms_fallback_after_s": 0, "voice_after_s": 0})
	waitFor(t, "the call", func() bool { return len(e.callsTo(r[0].Member.Phone)) == 1 })
	c := e.callsTo(r[0].Member.Phone)[0]
	for _, want := range []string{`<Say language="cmn-CN"`, `loop="2"`, "山洪预警", "收到请按1，安全请按2，需要救助请按3。", `numDigits="1"`} {
		if !strings.Contains(c.Twiml, want) {
			t.Errorf("call TwiML lacks %q: %s", want, c.Twiml)
		}
	}
	if c.From != hubNumber || c.StatusCallback != e.srv.URL+"/webhooks/twilio/voice/status" {
		t.Errorf("call from %s, callback %s", c.From, c.StatusCallback)
	}
	code, tw, err := e.fake.PressDigit(t.Context(), c.SID, "9")
	if err != nil || code != 200 || !strings.Contains(tw, "<Gather") || !strings.Contains(tw, "r=1") {
		t.Fatalf("unknown key: %d %q %v, want the prompt again", code, tw, err)
	}
	if resp, _ := e.answerOf(t, cmd, alert, r[0].Member.ID); resp != "" {
		t.Fatalf("an unknown key answered %q", resp)
	}
	code, tw, err = e.fake.Gather(t.Context(), c.SID, tw, "2")
	if err != nil || code != 200 || !strings.Contains(tw, "已记录，谢谢。") {
		t.Fatalf("key 2: %d %q %v", code, tw, err)
	}
	if err := e.fake.SetCallStatus(t.Context(), c.SID, "completed"); err != nil {
		t.Fatal(err)
	}
	resp, voice := e.answerOf(t, cmd, alert, r[0].Member.ID)
	if resp != storage.RespSafe || voice != storage.MessageDelivered {
		t.Errorf("answer %q, voice state %q; want safe, delivered", resp, voice)
	}
	p := e.progressOf(t, cmd, alert)
	if acked(p, storage.RespSafe) != 1 || voiceCount(p, "delivered") != 1 {
		t.Errorf("progress %v, want safe 1 and one delivered call", p)
	}
	if n := len(e.fake.Calls()); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

// TestVoiceNotCalled: no call to a member who answered before its call
// was due, none after a cancel, none without voice_after_s (or with -1 on
// an extreme alert); the silent member of the same alert is called.
func TestVoiceNotCalled(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t)
	_, cmd := e.member(storage.RoleCommander, -1, outside)
	r := e.residents(2)
	// The default for extreme with SMS: a call 300 s after the SMS.
	alert := e.sendAlert(t, cmd, map[string]any{"severity": "extreme", "sms_fallback_after_s": 0})
	code, out := e.call("GET", "/api/v1/alerts/"+alert, cmd, nil)
	if code != 200 || num(out["alert"].(map[string]any)["voice_after_s"]) != 300 {
		t.Fatalf("alert: %d %v, want voice_after_s 300", code, out)
	}
	e.reply(t, "", r[0].Member.Phone, "2")
	e.advance(301 * time.Second)
	waitFor(t, "the silent member's call", func() bool { return len(e.callsTo(r[1].Member.Phone)) == 1 })
	waitFor(t, "the answered member's call cancelled", func() bool {
		_, v := e.answerOf(t, cmd, alert, r[0].Member.ID)
		return v == storage.MessageCancelled
	})
	if n := len(e.callsTo(r[0].Member.Phone)); n != 0 {
		t.Errorf("%d calls to the member who answered", n)
	}

	// Cancelled before the calls were due: none. A second alert (to the
	// commander's village... the same residents) off by -1: none.
	cancelled := e.sendAlert(t, cmd, map[string]any{"severity": "severe", "sms_fallback_after_s": 0, "voice_after_s": 60})
	off := e.sendAlert(t, cmd, map[string]any{"severity": "extreme", "sms_fallback_after_s": 0, "voice_after_s": -1})
	if code, out := e.call("GET", "/api/v1/alerts/"+off, cmd, nil); code != 200 || out["alert"].(map[string]any)["voice_after_s"] != nil {
		t.Fatalf("alert with voice_after_s -1: %v", out)
	}
	if code, out := e.call("POST", "/api/v1/alerts/"+cancelled+"/cancel", cmd, nil); code != 200 {
		t.Fatalf("cancel: %d %v", code, out)
	}
	// A control alert whose calls are due with the cancelled one's.
	control := e.sendAlert(t, cmd, map[string]any{"severity": "severe", "sms_fallback_after_s": 0, "voice_after_s": 60})
	e.advance(61 * time.Second)
	waitFor(t, "the control alert's calls", func() bool { return len(e.fake.Calls()) == 3 })
	p := e.progressOf(t, cmd, cancelled)
	if voiceCount(p, "queued")+voiceCount(p, "sent")+voiceCount(p, "delivered")+voiceCount(p, "failed") != 0 {
		t.Errorf("cancelled alert's calls: %v", p["voice"])
	}
	_ = control
	for _, id := range []string{cancelled, off} {
		for _, m := range r {
			if _, v := e.answerOf(t, cmd, id, m.Member.ID); v != "" && v != storage.MessageCancelled {
				t.Errorf("alert %s: member %s's call is %q", id, m.Member.ID, v)
			}
		}
	}

	// Bad values: 400, nothing sent.
	for _, extra := range []map[string]any{
		{"voice_after_s": -2, "sms_fallback_after_s": 0},
		{"voice_after_s": 86401, "sms_fallback_after_s": 0},
		{"voice_after_s": 10}, // no SMS fallback
	} {
		if code, out := e.call("POST", "/api/v1/alerts/preview", cmd, circleAlert(29.03, 119.17, 2000, extra)); code != 400 || errCode(out) != "bad_request" {
			t.Errorf("preview %v: %d %v, want 400 bad_request", extra, code, out)
		}
	}
}

// timedVoice records when each call was handed to Twilio.
type timedVoice struct {
	notify.Sender
	mu sync.Mutex
	at []time.Time
}

func (v *timedVoice) Send(ctx context.Context, m notify.Message) (notify.Result, error) {
	v.mu.Lock()
	v.at = append(v.at, time.Now())
	v.mu.Unlock()
	return v.Sender.Send(ctx, m)
}

// Lookup keeps the wrapped caller a Reconciler.
func (v *timedVoice) Lookup(ctx context.Context, m notify.Message, since time.Time) (notify.Result, bool, error) {
	return v.Sender.(notify.Reconciler).Lookup(ctx, m, since)
}

// TestVoiceRate: twelve calls due at once go at most VoiceRate per second
// (a token bucket of one: no window of a second holds more than rate+1).
func TestVoiceRate(t *testing.T) {
	t.Parallel()
	const rate = 4
	var tv *timedVoice
	e := newTwilioEnv(t, func(c *Config) {
		v, err := c.Sender.(*notify.Twilio).Voice("", c.PublicURL+notify.VoiceStatusPath)
		if err != nil {
			t.Fatal(err)
		}
		tv = &timedVoice{Sender: v}
		c.Voice, c.VoiceRate = tv, rate
	})
	_, cmd := e.member(storage.RoleCommander, -1, outside)
	e.residents(12)
	e.sendAlert(t, cmd, map[string]any{"severity": "extreme", "sms_fallback_after_s": 0, "voice_after_s": 0})
	waitFor(t, "twelve calls", func() bool { return len(e.fake.Calls()) == 12 })
	tv.mu.Lock()
	defer tv.mu.Unlock()
	for i := range tv.at {
		n := 0
		for j := i; j < len(tv.at) && tv.at[j].Sub(tv.at[i]) < time.Second; j++ {
			n++
		}
		if n > rate+1 {
			t.Fatalf("%d calls within a second from call %d, rate %d/s", n, i, rate)
		}
	}
}
