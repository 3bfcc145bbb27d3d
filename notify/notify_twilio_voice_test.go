package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// sinkRecorder is a StatusSink that remembers what it was given.
type sinkRecorder struct {
	mu  sync.Mutex
	got []string
}

func (s *sinkRecorder) ApplyStatus(_ context.Context, channel, providerID string, u storage.StatusUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, channel+"/"+providerID+"/"+u.Status+"/"+u.State)
	return nil
}

// TestTwilioVoice: a call placed through twilio-go reaches the fake with
// its TwiML and callback; Lookup finds it (queued: no start time; then
// started); its signed status callbacks reach the voice status handler,
// and a forged one is refused.
func TestTwilioVoice(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t, nil)
	sink := &sinkRecorder{}
	hub := httptest.NewUnstartedServer(nil)
	hub.Config.Handler = e.tw.VoiceStatusHandler(StatusHandlerConfig{PublicURL: "http://" + hub.Listener.Addr().String(), Sink: sink})
	hub.Start()
	defer hub.Close()

	v, err := e.tw.Voice("", hub.URL+VoiceStatusPath)
	if err != nil {
		t.Fatal(err)
	}
	a := &storage.Alert{ID: "a_1", Kind: "warning", Severity: "extreme", Title: "水库泄洪 <急>", Body: "请远离河道 & 高处"}
	twiml := VoiceTwiML(a, "", GatherURL("https://hub.example", "a_1", "m_1", false))
	res, err := v.Send(t.Context(), Message{Key: "k", To: testTo, Body: twiml})
	if err != nil || !strings.HasPrefix(res.ProviderID, "CA") || res.Status != "queued" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	calls := e.fake.Calls()
	if len(calls) != 1 || calls[0].Twiml != twiml || calls[0].From != testFrom || calls[0].StatusCallback != hub.URL+VoiceStatusPath {
		t.Fatalf("calls = %+v", calls)
	}
	if !strings.Contains(twiml, "水库泄洪 &lt;急&gt;") || !strings.Contains(twiml, "&amp; 高处") {
		t.Errorf("TwiML not escaped: %s", twiml)
	}
	found, ok, err := v.Lookup(t.Context(), Message{To: testTo}, e.clk.Now().Add(-time.Minute))
	if err != nil || !ok || found.ProviderID != res.ProviderID {
		t.Fatalf("Lookup of a queued call = %+v %v %v", found, ok, err)
	}
	if _, ok, err := v.Lookup(t.Context(), Message{To: testTo}, e.clk.Now().Add(time.Minute)); err != nil || ok {
		t.Fatalf("Lookup after the call = %v %v, want none", ok, err)
	}
	for _, st := range []string{"ringing", "completed"} {
		if err := e.fake.SetCallStatus(t.Context(), res.ProviderID, st); err != nil {
			t.Fatalf("status %s: %v", st, err)
		}
	}
	sink.mu.Lock()
	got := strings.Join(sink.got, " ")
	sink.mu.Unlock()
	want := "voice/" + res.ProviderID + "/ringing/sent voice/" + res.ProviderID + "/completed/delivered"
	if got != want {
		t.Errorf("statuses %q, want %q", got, want)
	}
	req, _ := http.NewRequest("POST", hub.URL+VoiceStatusPath, strings.NewReader("CallSid=CA1&CallStatus=completed"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", "forged")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged callback: %d, want 403", resp.StatusCode)
	}
}

func TestGatherKeyRoundTrip(t *testing.T) {
	t.Parallel()
	k := GatherKey("a_1", "m_2")
	if a, m, ok := ParseGatherKey(k); !ok || a != "a_1" || m != "m_2" {
		t.Fatalf("ParseGatherKey(%q) = %q %q %v", k, a, m, ok)
	}
	for _, bad := range []string{"", "!!", GatherKey("", "m"), "YV8x"} {
		if _, _, ok := ParseGatherKey(bad); ok {
			t.Errorf("ParseGatherKey(%q) ok", bad)
		}
	}
}

func TestTwilioCallState(t *testing.T) {
	t.Parallel()
	for st, want := range map[string]string{"queued": storage.MessageSent, "ringing": storage.MessageSent,
		"in-progress": storage.MessageSent, "completed": storage.MessageDelivered, "busy": storage.MessageFailed,
		"no-answer": storage.MessageFailed, "failed": storage.MessageFailed, "canceled": storage.MessageFailed, "x": ""} {
		if got := TwilioCallState(st); got != want {
			t.Errorf("TwilioCallState(%q) = %q, want %q", st, got, want)
		}
	}
}

// FuzzParseGatherKey: any key parses without a panic, and a parsed one
// makes the same key again.
func FuzzParseGatherKey(f *testing.F) {
	f.Add(GatherKey("a_1", "m_1"))
	f.Add("")
	f.Fuzz(func(t *testing.T, k string) {
		a, m, ok := ParseGatherKey(k)
		if !ok {
			return
		}
		if a2, m2, ok2 := ParseGatherKey(GatherKey(a, m)); !ok2 || a2 != a || m2 != m {
			t.Fatalf("key %q: %q %q does not round-trip", k, a, m)
		}
	})
}
