package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/notify/twiliofake"
	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/sqlite"
)

// TestEarlyStatuses: early callbacks come back in arrival order, once, and
// entries older than earlyStatusTTL are dropped.
func TestEarlyStatuses(t *testing.T) {
	var e earlyStatuses
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	e.put("SM1", storage.StatusUpdate{Status: "sent", At: t0})
	e.put("SM1", storage.StatusUpdate{Status: "delivered", At: t0.Add(time.Second)})
	for i := range 1000 {
		e.put(fmt.Sprint("SMx", i), storage.StatusUpdate{Status: "sent", At: t0.Add(2 * time.Second)})
	}
	got := e.take("SM1")
	if len(got) != 2 || got[0].Status != "sent" || got[1].Status != "delivered" {
		t.Fatalf("take(SM1) = %+v, want sent then delivered", got)
	}
	if again := e.take("SM1"); again != nil {
		t.Fatalf("second take(SM1) = %+v, want nothing", again)
	}
	// Past the TTL, the next put drops the stale ones.
	e.put("SM2", storage.StatusUpdate{Status: "sent", At: t0.Add(earlyStatusTTL + time.Minute)})
	if n := len(e.m); n != 1 {
		t.Fatalf("%d entries after the TTL, want 1 (SM2)", n)
	}
	if got := e.take("SMx5"); got != nil {
		t.Fatalf("a stale entry survived: %+v", got)
	}
}

// outboxEnv is a dispatcher over a real (SQLite) store with one alert to
// members m1..mN, phones phone(i), each with an SMS due at t0.
type outboxEnv struct {
	store *sqlite.Store
	clk   *clock
	alert *storage.Alert
}

var dt0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

func phone(i int) string { return fmt.Sprintf("+86139%08d", i) }

func newOutboxEnv(t *testing.T, n int, noPhone ...int) *outboxEnv {
	t.Helper()
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	var ms []storage.NewMember
	var ts []storage.Target
	for i := 1; i <= n; i++ {
		m := storage.Member{ID: fmt.Sprint("m", i), Name: "r", Phone: phone(i), Role: storage.RoleResident, CreatedAt: dt0}
		if slices.Contains(noPhone, i) {
			m.Phone = ""
		}
		ms = append(ms, storage.NewMember{Member: m, TokenHash: []byte(m.ID)})
		ts = append(ts, storage.Target{MemberID: m.ID, SMSDueAt: dt0, SMSPriority: 3})
	}
	if err := s.CreateMembers(ctx, ms); err != nil {
		t.Fatal(err)
	}
	a := &storage.Alert{ID: "a1", Kind: "warning", Severity: "severe", Title: "山洪预警", Body: "请转移",
		Area: []byte(`{}`), CreatedAt: dt0, ExpiresAt: dt0.Add(time.Hour), Status: storage.AlertActive}
	if err := s.CreateAlert(ctx, a, &storage.Event{Type: storage.EventAlert, AlertID: a.ID, Body: []byte(`{}`), CreatedAt: dt0}, ts); err != nil {
		t.Fatal(err)
	}
	return &outboxEnv{store: s, clk: &clock{t: dt0.Add(time.Second)}, alert: a}
}

// run starts a dispatcher of these channels (rate 1000/s) as node-a until
// the test ends.
func (e *outboxEnv) run(t *testing.T, cfg DispatcherConfig, chs ...Channel) *Dispatcher {
	t.Helper()
	cfg.Store, cfg.NodeID, cfg.Clock = e.store, "node-a", e.clk.Now
	for _, ch := range chs {
		cfg.Channels = append(cfg.Channels, ChannelConfig{Channel: ch, Rate: 1000})
	}
	d, err := NewDispatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

func (e *outboxEnv) rows(t *testing.T) map[string]storage.Message {
	t.Helper()
	rows, err := e.store.ListMessages(t.Context(), storage.AlertRef("a1"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storage.Message{}
	for _, r := range rows {
		out[r.Channel+"/"+r.MemberID+"/"+r.Kind] = r
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scripted is a Sender (and, with lookup set, a Reconciler) that answers
// per phone.
type scripted struct {
	mu     sync.Mutex
	sent   []Message
	errs   map[string]error
	lookup map[string]Result // found by Lookup, per phone
	looked []Message
}

func (s *scripted) Send(_ context.Context, m Message) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	if err := s.errs[m.To]; err != nil {
		return Result{}, err
	}
	return Result{ProviderID: "SM-" + m.To, Status: "queued", Segments: 1}, nil
}

func (s *scripted) sentTo(phone string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.sent {
		if m.To == phone {
			n++
		}
	}
	return n
}

type scriptedLookup struct{ *scripted }

func (s scriptedLookup) Lookup(_ context.Context, m Message, _ time.Time) (Result, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.looked = append(s.looked, m)
	r, ok := s.lookup[m.To]
	return r, ok, nil
}

// TestDispatcherOutcomes: a sent message is recorded with the provider's
// answer, a permanent refusal fails once, a temporary one is retried after
// the provider's hint, an unknown outcome stays sending (in doubt), a
// member without a phone fails; each outcome is counted and reported.
func TestDispatcherOutcomes(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t, 5, 5)
	snd := &scripted{errs: map[string]error{
		phone(2): &SendError{Code: "21211", Permanent: true, Err: errors.New("invalid")},
		phone(3): &SendError{Code: "20429", RetryAfter: time.Minute, Err: errors.New("slow down")},
		phone(4): fmt.Errorf("%w: timeout", ErrOutcomeUnknown),
	}}
	var mu sync.Mutex
	counts, changed := map[string]int{}, map[storage.Ref]int{}
	e.run(t, DispatcherConfig{
		Counted: func(ch, o string) { mu.Lock(); counts[ch+" "+o]++; mu.Unlock() },
		Changed: func(r storage.Ref) { mu.Lock(); changed[r]++; mu.Unlock() },
	}, NewSMS(snd, "https://hub.example"))
	eventually(t, "every outcome", func() bool {
		r := e.rows(t)
		return r["sms/m1/alert"].State == storage.MessageSent && r["sms/m2/alert"].State == storage.MessageFailed &&
			r["sms/m3/alert"].ErrorCode == "20429" && r["sms/m4/alert"].State == storage.MessageSending &&
			r["sms/m5/alert"].State == storage.MessageFailed
	})
	// Each recorded outcome (m1, m2, m3, m5) reports the alert after the
	// store has it.
	eventually(t, "the alert reported changed at each recorded outcome", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return changed[storage.AlertRef("a1")] == 4
	})
	r := e.rows(t)
	if m1 := r["sms/m1/alert"]; m1.ProviderID != "SM-"+phone(1) || m1.Status != "queued" || m1.Segments != 1 {
		t.Errorf("sent row: %+v", m1)
	}
	if m3 := r["sms/m3/alert"]; m3.State != storage.MessagePending || !m3.DueAt.Equal(e.clk.Now().Add(time.Minute)) {
		t.Errorf("retried row: %+v, want pending a minute later", m3)
	}
	if m5 := r["sms/m5/alert"]; m5.ErrorCode != "no_phone" || snd.sentTo("") != 0 {
		t.Errorf("row without a phone: %+v", m5)
	}
	if m := snd.sent[0]; !strings.Contains(m.Body, "山洪预警") || !strings.HasSuffix(m.Body, "https://hub.example/m") ||
		m.Key != "sms/alert/a1/m1/alert" {
		t.Errorf("first message: %+v", m)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"sms sent": 1, "sms failed": 1, "sms retry": 1, "sms in_doubt": 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("counted %v, want %v", counts, want)
	}
}

// TestDispatcherReconciles: rows this node left sending (in doubt) are
// resolved at start through the channel's Lookup: one the provider has is
// recorded as sent without sending it again, one it has not is sent once.
// A row it left claimed never reached the provider: it is sent again
// without a lookup.
func TestDispatcherReconciles(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t, 3)
	claimed, err := e.store.ClaimDueMessages(t.Context(), storage.ChannelSMS, dt0, 10, "node-a")
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	for _, r := range claimed[:2] {
		if err := e.store.StartSending(t.Context(), r.Key(), "node-a", dt0); err != nil {
			t.Fatal(err)
		}
	}
	snd := &scripted{lookup: map[string]Result{phone(1): {ProviderID: "SM-found", Status: "delivered", Segments: 2}}}
	e.run(t, DispatcherConfig{}, NewSMS(scriptedLookup{snd}, "https://hub.example"))
	eventually(t, "the rows resolved", func() bool {
		r := e.rows(t)
		return r["sms/m1/alert"].State == storage.MessageSent && r["sms/m2/alert"].State == storage.MessageSent &&
			r["sms/m3/alert"].State == storage.MessageSent
	})
	if m1 := e.rows(t)["sms/m1/alert"]; m1.ProviderID != "SM-found" || m1.Segments != 2 {
		t.Errorf("found row: %+v", m1)
	}
	if snd.sentTo(phone(1)) != 0 || snd.sentTo(phone(2)) != 1 || snd.sentTo(phone(3)) != 1 {
		t.Errorf("sent %v, want m2's and m3's, once each", snd.sent)
	}
	snd.mu.Lock()
	defer snd.mu.Unlock()
	if len(snd.looked) != 2 || !strings.Contains(snd.looked[0].Body, "山洪预警") || snd.looked[0].To == phone(3) ||
		snd.looked[1].To == phone(3) {
		t.Errorf("looked up %+v, want the two sending rows with their bodies", snd.looked)
	}
}

// gated is a Sender whose first message stays at the provider until
// release is closed.
type gated struct {
	scripted
	blocked, release chan struct{}
	once             sync.Once
}

func (g *gated) Send(ctx context.Context, m Message) (Result, error) {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.blocked)
		select {
		case <-g.release:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	return g.scripted.Send(ctx, m)
}

// TestDispatcherStopsCancelledAlert (issue 12): the alert is cancelled
// while the first of a claimed batch is at the provider. The rest of the
// batch is not sent (StartSending refuses them, counted as stopped), and
// the member whose SMS was in flight gets the all-clear once the SMS is
// recorded as sent.
func TestDispatcherStopsCancelledAlert(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t, 5)
	snd := &gated{blocked: make(chan struct{}), release: make(chan struct{})}
	var mu sync.Mutex
	counts := map[string]int{}
	e.run(t, DispatcherConfig{Counted: func(_, o string) { mu.Lock(); counts[o]++; mu.Unlock() }},
		NewSMS(snd, "https://hub.example"))
	<-snd.blocked
	if _, err := e.store.CancelAlert(t.Context(), "a1", e.clk.Now(), &storage.Event{Type: storage.EventAlertCancel,
		AlertID: "a1", Body: []byte(`null`), CreatedAt: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	close(snd.release)
	// The in-flight SMS is sent and the rest of the batch stopped. (Its
	// all-clear may already follow: it is held only while the alert SMS
	// may still reach the member, and a claim that runs after the SMS is
	// recorded as sent takes it at once; else the clock below frees it.)
	eventually(t, "the batch stopped", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return counts["sent"] >= 1 && counts["stopped"] == 4
	})
	snd.mu.Lock()
	first := snd.sent[0].To
	snd.mu.Unlock()
	// The all-clear waits (on this clock) until the in-flight SMS is
	// recorded, then follows it.
	e.clk.Add(storage.AllClearWait)
	eventually(t, "the all-clear", func() bool { return snd.sentTo(first) == 2 })
	snd.mu.Lock()
	defer snd.mu.Unlock()
	if len(snd.sent) != 2 || !strings.Contains(snd.sent[1].Body, "解除") {
		t.Errorf("sent %+v, want the first member's alert SMS and its all-clear", snd.sent)
	}
}

// fakeCall is a second channel: it records what it is given.
type fakeCall struct{ scripted }

func (c *fakeCall) Name() string { return "voice" }
func (c *fakeCall) Compose(it *Item) Message {
	return Message{Key: it.Row.Key().String(), To: it.Row.Phone, Body: "call: " + it.Alert.Title}
}

// TestDispatcherChannels: each channel sends its own rows only, composed
// its own way; a Wake reaches them all.
func TestDispatcherChannels(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t, 2)
	sms, call := &scripted{}, &fakeCall{}
	d := e.run(t, DispatcherConfig{}, NewSMS(sms, "https://hub.example"), call)
	eventually(t, "the SMS", func() bool { return sms.sentTo(phone(1)) == 1 && sms.sentTo(phone(2)) == 1 })
	if err := e.store.EnqueueMessages(t.Context(), []storage.Message{{Channel: "voice", Ref: storage.AlertRef("a1"),
		MemberID: "m2", Kind: storage.MessageAlert, Priority: 3, DueAt: dt0}}); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	eventually(t, "the call recorded", func() bool { return e.rows(t)["voice/m2/alert"].State == storage.MessageSent })
	call.mu.Lock()
	defer call.mu.Unlock()
	if len(call.sent) != 1 || call.sent[0].Body != "call: 山洪预警" {
		t.Errorf("calls: %+v", call.sent)
	}
	if sms.sentTo(phone(1))+sms.sentTo(phone(2)) != 2 {
		t.Errorf("SMS: %+v", sms.sent)
	}
	if _, err := NewDispatcher(DispatcherConfig{Store: e.store, NodeID: "n",
		Channels: []ChannelConfig{{Channel: call}, {Channel: call}}}); err == nil {
		t.Error("two channels of one name were accepted")
	}
}

// TestStatusHandler: a callback without a valid signature is 403 and
// changes nothing; a genuine one is applied (204); one for a message whose
// send is not recorded yet is kept and applied when it is.
func TestStatusHandler(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t, 2)
	env := newTwilioEnv(t, nil)
	d, err := NewDispatcher(DispatcherConfig{Store: e.store, NodeID: "node-a", Clock: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	var lastErr error
	h := env.tw.StatusHandler(StatusHandlerConfig{PublicURL: "https://hub.example/", Sink: d, Clock: e.clk.Now,
		Refused: func() { refused++ },
		Error: func(w http.ResponseWriter, r *http.Request, err error) {
			lastErr = err
			var re *RequestError
			if errors.As(err, &re) {
				w.WriteHeader(re.Status)
				return
			}
			w.WriteHeader(http.StatusInternalServerError)
		}})
	post := func(sign string, f url.Values) int {
		req := httptest.NewRequest("POST", TwilioStatusPath, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sign != "" {
			req.Header.Set("X-Twilio-Signature", twiliofake.Signature(sign, "https://hub.example"+TwilioStatusPath, f))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	ctx := t.Context()
	claimed, err := e.store.ClaimDueMessages(ctx, storage.ChannelSMS, dt0, 10, "node-a")
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := e.store.CompleteMessage(ctx, claimed[0].Key(), storage.MessageResult{State: storage.MessageSent,
		ProviderID: "SM1", Status: "queued", At: dt0}); err != nil {
		t.Fatal(err)
	}
	delivered := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	if code := post("", delivered); code != http.StatusForbidden {
		t.Errorf("unsigned: %d", code)
	}
	if code := post("ffffffffffffffffffffffffffffffff", delivered); code != http.StatusForbidden {
		t.Errorf("forged: %d", code)
	}
	if refused != 2 {
		t.Errorf("refused counted %d, want 2", refused)
	}
	var re *RequestError
	if !errors.As(lastErr, &re) || re.Code != "forbidden" {
		t.Errorf("error for a forged callback: %v", lastErr)
	}
	if r := e.rows(t)["sms/m1/alert"]; r.State != storage.MessageSent {
		t.Fatalf("a refused callback changed the row: %+v", r)
	}
	if code := post(testToken, url.Values{"MessageSid": {"SM1"}}); code != http.StatusBadRequest {
		t.Errorf("without a status: %d", code)
	}
	if code := post(testToken, delivered); code != http.StatusNoContent {
		t.Fatalf("genuine: %d", code)
	}
	if r := e.rows(t)["sms/m1/alert"]; r.State != storage.MessageDelivered || r.Status != "delivered" {
		t.Errorf("after the genuine callback: %+v", r)
	}
	// Early: the callback for SM2 comes before its send is recorded.
	if code := post(testToken, url.Values{"MessageSid": {"SM2"}, "MessageStatus": {"delivered"}}); code != http.StatusNoContent {
		t.Fatalf("early callback: %d", code)
	}
	w := &worker{d: d, ch: NewSMS(&scripted{}, "")}
	w.complete(ctx, &claimed[1], storage.MessageResult{State: storage.MessageSent, ProviderID: "SM2", Status: "queued", At: dt0})
	if r := e.rows(t)["sms/m2/alert"]; r.State != storage.MessageDelivered {
		t.Errorf("early callback not applied once the send was recorded: %+v", r)
	}
}

// TestTwilioSMSState: Twilio's status words and the row state each means.
func TestTwilioSMSState(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]string{
		"queued": storage.MessageSent, "accepted": storage.MessageSent, "sending": storage.MessageSent,
		"sent": storage.MessageSent, "delivered": storage.MessageDelivered, "undelivered": storage.MessageFailed,
		"failed": storage.MessageFailed, "scheduled": "", "read": "",
	} {
		if got := TwilioSMSState(status); got != want {
			t.Errorf("TwilioSMSState(%q) = %q, want %q", status, got, want)
		}
	}
}
