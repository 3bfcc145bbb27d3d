package notify

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/longyou/hub/notify/twiliofake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
	testSvc   = "MG0123456789abcdef0123456789abcdef"
	testFrom  = "+15005550006"
	testTo    = "+8613800000000"
)

// twilioEnv is a Twilio sender pointed at a fake Twilio on httptest.
type twilioEnv struct {
	fake *twiliofake.Server
	srv  *httptest.Server
	tw   *Twilio
	clk  *clock
}

func newTwilioEnv(t *testing.T, mod func(*TwilioConfig)) *twilioEnv {
	t.Helper()
	fake := twiliofake.New(testSID, testToken)
	clk := &clock{t: time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)}
	fake.SetNow(clk.Now)
	srv := httptest.NewServer(fake)
	cfg := TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom, APIURL: srv.URL}
	if mod != nil {
		mod(&cfg)
	}
	tw, err := NewTwilio(cfg)
	if err != nil {
		t.Fatalf("NewTwilio: %v", err)
	}
	t.Cleanup(func() {
		fake.Close()
		srv.Close()
		tw.CloseIdleConnections()
	})
	return &twilioEnv{fake: fake, srv: srv, tw: tw, clk: clk}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTwilioSend(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t, func(c *TwilioConfig) { c.StatusCallbackURL = "https://hub.example.cn/webhooks/twilio/status" })
	body := "【应急严重预警】暴雨洪水：请立即转移到高处。"
	res, err := e.tw.Send(context.Background(), Message{Key: "a1/m1/alert", To: testTo, Body: body})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.HasPrefix(res.ProviderID, "SM") || len(res.ProviderID) != 34 || res.Status != "queued" || res.Segments != 1 {
		t.Fatalf("Send = %+v", res)
	}
	msgs := e.fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("fake holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.SID != res.ProviderID || m.To != testTo || m.From != testFrom || m.Body != body || m.AccountSID != testSID {
		t.Fatalf("fake got %+v", m)
	}
	want := url.Values{"To": {testTo}, "From": {testFrom}, "Body": {body},
		"StatusCallback": {"https://hub.example.cn/webhooks/twilio/status"}}
	if m.Form.Encode() != want.Encode() {
		t.Fatalf("form = %v, want %v", m.Form, want)
	}
	if st := e.fake.Stats(); st.Creates != 1 || st.Accepted != 1 || st.Unauthorized != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestTwilioSendMessagingService(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t, func(c *TwilioConfig) { c.From, c.MessagingServiceSID = "", testSvc })
	body := strings.Repeat("洪", 71)
	res, err := e.tw.Send(context.Background(), Message{To: testTo, Body: body})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	// A messaging service answers "accepted" with num_segments 0: the
	// count comes from Segments.
	if res.Status != "accepted" || res.Segments != 2 {
		t.Fatalf("Send = %+v", res)
	}
	form := e.fake.Messages()[0].Form
	if form.Get("MessagingServiceSid") != testSvc || form.Has("From") || form.Has("StatusCallback") {
		t.Fatalf("form = %v", form)
	}
}

func TestTwilioSendRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		setup      func(*twiliofake.Server)
		mod        func(*TwilioConfig)
		code       string
		permanent  bool
		retryAfter time.Duration
	}{
		{"rateLimited", func(f *twiliofake.Server) { f.FailNext(20429, 429, 1); f.SetRetryAfter(3 * time.Second) }, nil, "20429", false, 3 * time.Second},
		{"rateLimitedNoHint", func(f *twiliofake.Server) { f.FailNext(20429, 429, 1) }, nil, "20429", false, 0},
		{"http429Plain", func(f *twiliofake.Server) { f.FailNext(0, 429, 1) }, nil, "http_429", false, 0},
		{"queueOverflow", func(f *twiliofake.Server) { f.FailNext(30001, 400, 1) }, nil, "30001", false, 0},
		{"internal500", func(f *twiliofake.Server) { f.FailNext(20500, 500, 1) }, nil, "20500", false, 0},
		{"unavailable503", func(f *twiliofake.Server) { f.FailNext(0, 503, 1); f.SetRetryAfter(2 * time.Second) }, nil, "http_503", false, 2 * time.Second},
		{"proxy502HTML", func(f *twiliofake.Server) { f.FailNext(0, 502, 1) }, nil, "http_502", false, 0},
		{"invalidTo", func(f *twiliofake.Server) { f.FailFor(testTo, 21211, 400) }, nil, "21211", true, 0},
		{"unsubscribed", func(f *twiliofake.Server) { f.FailFor(testTo, 21610, 400) }, nil, "21610", true, 0},
		{"notMobile", func(f *twiliofake.Server) { f.FailFor(testTo, 21614, 400) }, nil, "21614", true, 0},
		{"regionNotEnabled", func(f *twiliofake.Server) { f.FailFor(testTo, 21408, 400) }, nil, "21408", true, 0},
		{"cannotRoute", func(f *twiliofake.Server) { f.FailFor(testTo, 21612, 400) }, nil, "21612", true, 0},
		{"other4xx", func(f *twiliofake.Server) { f.FailNext(21999, 400, 1) }, nil, "21999", true, 0},
		{"plain404", func(f *twiliofake.Server) { f.FailNext(0, 404, 1) }, nil, "http_404", true, 0},
		// Account-level: every message fails until the operator fixes the
		// settings, after which each should still go out.
		{"badCredentials", nil, func(c *TwilioConfig) { c.AuthToken = "wrong0token" }, "20003", false, 0},
		{"badFrom", nil, func(c *TwilioConfig) { c.From = "not-a-sender!" }, "21212", false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTwilioEnv(t, c.mod)
			if c.setup != nil {
				c.setup(e.fake)
			}
			_, err := e.tw.Send(context.Background(), Message{To: testTo, Body: "洪水预警"})
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send error = %v, want a *SendError", err)
			}
			if se.Code != c.code || se.Permanent != c.permanent || se.RetryAfter != c.retryAfter {
				t.Fatalf("SendError = code %s permanent %v retry %v, want %s %v %v (%v)",
					se.Code, se.Permanent, se.RetryAfter, c.code, c.permanent, c.retryAfter, err)
			}
			if IsPermanent(err) != c.permanent || errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("IsPermanent(%v) = %v", err, IsPermanent(err))
			}
			if n := len(e.fake.Messages()); n != 0 {
				t.Fatalf("fake stored %d messages", n)
			}
		})
	}
}

func TestTwilioSendInvalidNumberNoRequest(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t, nil)
	_, err := e.tw.Send(context.Background(), Message{To: "13800000000", Body: "x"})
	if !IsPermanent(err) {
		t.Fatalf("Send to a non-E.164 number = %v, want permanent", err)
	}
	if n := e.fake.Stats().Creates; n != 0 {
		t.Fatalf("%d requests for an invalid number", n)
	}
}

// TestTwilioSendUnknownOutcome: when the request went out and no answer
// came back, the error is not a SendError (the hub must not resend), and
// Lookup then finds the message Twilio did accept.
func TestTwilioSendUnknownOutcome(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		mod  func(*TwilioConfig)
		run  func(t *testing.T, e *twilioEnv) error
	}{
		{"timeout", func(c *TwilioConfig) { c.Timeout = 200 * time.Millisecond }, func(t *testing.T, e *twilioEnv) error {
			e.fake.Delay(time.Minute)
			_, err := e.tw.Send(context.Background(), Message{To: testTo, Body: "洪水预警"})
			e.fake.Delay(0)
			return err
		}},
		{"connectionDropped", nil, func(t *testing.T, e *twilioEnv) error {
			e.fake.DropNext(1)
			_, err := e.tw.Send(context.Background(), Message{To: testTo, Body: "洪水预警"})
			return err
		}},
		{"gatewayTimeout", nil, func(t *testing.T, e *twilioEnv) error {
			e.fake.FailNext(0, 504, 1)
			_, err := e.tw.Send(context.Background(), Message{To: testTo, Body: "洪水预警"})
			return err
		}},
		{"cancelledInFlight", nil, func(t *testing.T, e *twilioEnv) error {
			held, release := e.fake.Hold()
			defer release()
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				_, err := e.tw.Send(ctx, Message{To: testTo, Body: "洪水预警"})
				errc <- err
			}()
			<-held // Twilio has the message; its answer is on hold
			cancel()
			return <-errc
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTwilioEnv(t, c.mod)
			since := e.clk.Now()
			err := c.run(t, e)
			var se *SendError
			if err == nil || errors.As(err, &se) || !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("Send error = %v, want an unknown outcome that is not a SendError", err)
			}
			if c.name == "gatewayTimeout" {
				return // the fake stored nothing; only the mapping matters
			}
			msgs := e.fake.Messages()
			if len(msgs) != 1 {
				t.Fatalf("fake holds %d messages, want 1", len(msgs))
			}
			res, found, err := e.tw.Lookup(context.Background(), Message{To: testTo, Body: "洪水预警"}, since)
			if err != nil || !found || res.ProviderID != msgs[0].SID {
				t.Fatalf("Lookup = %+v %v %v, want %s", res, found, err, msgs[0].SID)
			}
		})
	}
}

func TestTwilioSendNotSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	cases := []struct {
		name   string
		apiURL string
		ctx    func() context.Context
	}{
		{"connectionRefused", closed, context.Background},
		{"cancelledBefore", "", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTwilioEnv(t, func(cfg *TwilioConfig) {
				if c.apiURL != "" {
					cfg.APIURL = c.apiURL
				}
			})
			_, err := e.tw.Send(c.ctx(), Message{To: testTo, Body: "x"})
			var se *SendError
			if !errors.As(err, &se) || se.Permanent || se.Code != "not_sent" {
				t.Fatalf("Send error = %v, want a temporary not_sent SendError", err)
			}
			if n := e.fake.Stats().Creates; n != 0 {
				t.Fatalf("fake saw %d creates", n)
			}
		})
	}
}

func TestTwilioLookup(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t, nil)
	ctx := context.Background()
	send := func(body string) string {
		t.Helper()
		res, err := e.tw.Send(ctx, Message{To: testTo, Body: body})
		if err != nil {
			t.Fatalf("Send(%q): %v", body, err)
		}
		return res.ProviderID
	}
	t0 := e.clk.Now()
	a := send("预警A")
	e.clk.Add(10 * time.Minute)
	since := e.clk.Now()
	b := send("预警B") // queued: no date_sent yet
	e.clk.Add(time.Minute)

	cases := []struct {
		name  string
		m     Message
		since time.Time
		want  string // "" not found
	}{
		{"queuedAfterSince", Message{To: testTo}, since, b},
		{"bodyBeforeSince", Message{To: testTo, Body: "预警A"}, since, ""},
		{"bodyInWindow", Message{To: testTo, Body: "预警A"}, t0, a},
		{"earliestWithoutBody", Message{To: testTo}, t0, a},
		{"otherBody", Message{To: testTo, Body: "预警C"}, t0, ""},
		{"otherNumber", Message{To: "+8613900000000"}, t0, ""},
		{"afterEverything", Message{To: testTo}, e.clk.Now().Add(time.Minute), ""},
		{"sameSecond", Message{To: testTo, Body: "预警B"}, since.Add(999 * time.Millisecond), b},
	}
	for _, c := range cases {
		res, found, err := e.tw.Lookup(ctx, c.m, c.since)
		if err != nil || found != (c.want != "") || res.ProviderID != c.want {
			t.Fatalf("%s: Lookup = %+v %v %v, want %q", c.name, res, found, err, c.want)
		}
	}

	// Once sent, the message is found by the DateSent> query alone.
	if err := e.fake.Deliver(ctx, b, "sent"); err != nil {
		t.Fatal(err)
	}
	before := e.fake.Stats().Lists
	res, found, err := e.tw.Lookup(ctx, Message{To: testTo, Body: "预警B"}, since)
	if err != nil || !found || res.ProviderID != b || res.Status != "sent" || res.Segments != 1 {
		t.Fatalf("Lookup sent = %+v %v %v", res, found, err)
	}
	if n := e.fake.Stats().Lists - before; n != 1 {
		t.Fatalf("Lookup of a sent message made %d list requests, want 1", n)
	}
	q := e.fake.ListQueries()
	last, err := url.ParseQuery(q[len(q)-1])
	if err != nil || last.Get("DateSent>") != since.Format(time.RFC3339) || last.Get("To") != testTo {
		t.Fatalf("list query %q", q[len(q)-1])
	}
}

// TestTwilioLookupPages: Lookup follows next_page_uri, which twilio-go
// resolves against https://api.twilio.com, to the fake.
func TestTwilioLookupPages(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t, nil)
	ctx := context.Background()
	since := e.clk.Now()
	var first string
	for i := range 120 {
		res, err := e.tw.Send(ctx, Message{To: testTo, Body: "第" + strings.Repeat("一", i+1) + "条"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.fake.Deliver(ctx, res.ProviderID, "sent"); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = res.ProviderID
		}
		e.clk.Add(time.Second)
	}
	res, found, err := e.tw.Lookup(ctx, Message{To: testTo, Body: "第一条"}, since)
	if err != nil || !found || res.ProviderID != first {
		t.Fatalf("Lookup = %+v %v %v, want %s", res, found, err, first)
	}
	if n := e.fake.Stats().Lists; n != 3 {
		t.Fatalf("%d list requests, want 3 pages", n)
	}
}

func TestTwilioValidateCallback(t *testing.T) {
	t.Parallel()
	type callback struct {
		form url.Values
		sig  string
	}
	got := make(chan callback, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got <- callback{r.PostForm, r.Header.Get("X-Twilio-Signature")}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	cbURL := recv.URL + "/webhooks/twilio/status"
	e := newTwilioEnv(t, func(c *TwilioConfig) { c.StatusCallbackURL = cbURL })
	res, err := e.tw.Send(context.Background(), Message{To: testTo, Body: "洪水预警"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.fake.Deliver(context.Background(), res.ProviderID, "delivered"); err != nil {
		t.Fatal(err)
	}
	cb := <-got
	params := map[string]string{}
	for k, v := range cb.form {
		params[k] = v[0]
	}
	if params["MessageSid"] != res.ProviderID || params["MessageStatus"] != "delivered" {
		t.Fatalf("callback params %v", params)
	}
	other, err := NewTwilio(TwilioConfig{AccountSID: testSID, AuthToken: "another0token", From: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	tampered := func(k, v string) map[string]string {
		p := map[string]string{}
		for pk, pv := range params {
			p[pk] = pv
		}
		p[k] = v
		return p
	}
	cases := []struct {
		name   string
		tw     *Twilio
		url    string
		params map[string]string
		sig    string
		want   bool
	}{
		{"genuine", e.tw, cbURL, params, cb.sig, true},
		{"wrongToken", other, cbURL, params, cb.sig, false},
		{"tamperedStatus", e.tw, cbURL, tampered("MessageStatus", "failed"), cb.sig, false},
		{"addedParam", e.tw, cbURL, tampered("ErrorCode", "30003"), cb.sig, false},
		{"otherURL", e.tw, recv.URL + "/other", params, cb.sig, false},
		{"missingSignature", e.tw, cbURL, params, "", false},
		{"garbageSignature", e.tw, cbURL, params, "bm90IGEgc2lnbmF0dXJl", false},
	}
	for _, c := range cases {
		if ok := c.tw.ValidateCallback(c.url, c.params, c.sig); ok != c.want {
			t.Fatalf("%s: ValidateCallback = %v, want %v", c.name, ok, c.want)
		}
	}
}

func TestTwilioChineseSegments(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		segs int
	}{
		{"short", "【应急严重预警】暴雨洪水：请立即转移。", 1},
		{"ucs70", strings.Repeat("洪", 70), 1},
		{"ucs71", strings.Repeat("洪", 71), 2},
		{"ucs134", strings.Repeat("洪", 134), 2},
		{"ucs135", strings.Repeat("洪", 135), 3},
		{"withLink", "【应急特别严重预警】龙游县城区山洪：沿河群众立即转移至安置点。 回复：https://hub.example.cn/m", 1},
		{"emoji35", strings.Repeat("🌊", 35), 1},
		{"emoji36", strings.Repeat("🌊", 36), 2},
		{"gsm160", strings.Repeat("a", 160), 1},
		{"gsm161", strings.Repeat("a", 161), 2},
	}
	for _, svc := range []bool{false, true} {
		for _, c := range cases {
			name := c.name
			if svc {
				name += "/service"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				e := newTwilioEnv(t, func(cfg *TwilioConfig) {
					if svc {
						cfg.From, cfg.MessagingServiceSID = "", testSvc
					}
				})
				res, err := e.tw.Send(context.Background(), Message{To: testTo, Body: c.body})
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if res.Segments != c.segs {
					t.Fatalf("Segments = %d, want %d", res.Segments, c.segs)
				}
				if got := e.fake.Messages()[0].Body; got != c.body {
					t.Fatalf("Twilio got body %q, want %q", got, c.body)
				}
			})
		}
	}
}

func TestNewTwilioRejects(t *testing.T) {
	t.Parallel()
	ok := TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom}
	cases := []struct {
		name string
		mod  func(*TwilioConfig)
	}{
		{"noSID", func(c *TwilioConfig) { c.AccountSID = "" }},
		{"sidNotAC", func(c *TwilioConfig) { c.AccountSID = "SK0123" }},
		{"tokenWithSymbols", func(c *TwilioConfig) { c.AuthToken = "abc-def" }},
		{"noSender", func(c *TwilioConfig) { c.From = "" }},
		{"fromNotE164", func(c *TwilioConfig) { c.From = "+0123" }},
		{"badService", func(c *TwilioConfig) { c.From, c.MessagingServiceSID = "", "XX123" }},
		{"apiURLNoScheme", func(c *TwilioConfig) { c.APIURL = "api.twilio.com" }},
		{"apiURLQuery", func(c *TwilioConfig) { c.APIURL = "http://127.0.0.1:1/?x=1" }},
		{"callbackRelative", func(c *TwilioConfig) { c.StatusCallbackURL = "/webhooks/twilio/status" }},
	}
	if _, err := NewTwilio(ok); err != nil {
		t.Fatalf("NewTwilio(valid) = %v", err)
	}
	for _, c := range cases {
		cfg := ok
		c.mod(&cfg)
		if _, err := NewTwilio(cfg); err == nil {
			t.Fatalf("%s: NewTwilio accepted %+v", c.name, cfg)
		}
	}
}

// TestTwilioAPIURLPath: an API URL with a path (a proxy) keeps it.
func TestTwilioAPIURLPath(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(testSID, testToken)
	defer fake.Close()
	srv := httptest.NewServer(http.StripPrefix("/twilio", fake))
	defer srv.Close()
	tw, err := NewTwilio(TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom, APIURL: srv.URL + "/twilio/"})
	if err != nil {
		t.Fatal(err)
	}
	defer tw.CloseIdleConnections()
	if _, err := tw.Send(context.Background(), Message{To: testTo, Body: "x"}); err != nil {
		t.Fatalf("Send through a path prefix: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"5", 5 * time.Second}, {"0", 0}, {"-3", 0}, {"soon", 0},
		{"86400", maxRetryAfter},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-30 * time.Second).Format(http.TimeFormat), 0},
	}
	for _, c := range cases {
		if got := parseRetryAfter(c.v, now); got != c.want {
			t.Fatalf("parseRetryAfter(%q) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestTwilioPermanentCodes(t *testing.T) {
	t.Parallel()
	for _, code := range []int{21211, 21610, 21614, 21408, 21612, 30003, 30004, 30005, 30006, 30007, 30008} {
		if !TwilioPermanent(code) {
			t.Fatalf("TwilioPermanent(%d) = false", code)
		}
	}
	for _, code := range []int{20429, 30001, 20003, 0} {
		if TwilioPermanent(code) {
			t.Fatalf("TwilioPermanent(%d) = true", code)
		}
	}
	for _, c := range []struct {
		code, status       int
		permanent, unknown bool
	}{
		{0, 504, false, true}, {0, 500, false, false}, {0, 429, false, false}, {0, 408, false, false},
		{0, 400, true, false}, {21610, 400, true, false}, {20429, 429, false, false}, {20003, 401, false, false},
		{30001, 400, false, false}, {0, 0, false, true},
	} {
		if p, u := classify(c.code, c.status); p != c.permanent || u != c.unknown {
			t.Fatalf("classify(%d, %d) = %v %v, want %v %v", c.code, c.status, p, u, c.permanent, c.unknown)
		}
	}
}
