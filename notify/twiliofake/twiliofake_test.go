package twiliofake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "0123456789abcdef0123456789abcdef"
	to    = "+8613800000000"
	from  = "+15005550006"
)

type env struct {
	fake *Server
	srv  *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fake := New(sid, token)
	srv := httptest.NewServer(fake)
	t.Cleanup(func() {
		fake.Close()
		srv.Close()
	})
	return &env{fake, srv}
}

func (e *env) messagesURL() string {
	return e.srv.URL + "/2010-04-01/Accounts/" + sid + "/Messages.json"
}

// do sends one request with Basic auth user:pass ("" for none) and
// decodes the JSON answer.
func (e *env) do(t *testing.T, method, u, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, u, err)
	}
	return resp.StatusCode, out
}

func (e *env) create(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	return e.do(t, http.MethodPost, e.messagesURL(), sid, token, form)
}

func TestCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, m := e.create(t, url.Values{"To": {to}, "From": {from}, "Body": {"洪水预警"}})
	if status != http.StatusCreated {
		t.Fatalf("create = %d %v", status, m)
	}
	s, _ := m["sid"].(string)
	if !strings.HasPrefix(s, "SM") || len(s) != 34 || m["status"] != "queued" || m["num_segments"] != "1" ||
		m["date_sent"] != nil || m["direction"] != "outbound-api" || m["to"] != to || m["from"] != from ||
		m["account_sid"] != sid || m["body"] != "洪水预警" || m["uri"] != "/2010-04-01/Accounts/"+sid+"/Messages/"+s+".json" {
		t.Fatalf("create answer %v", m)
	}
	if _, err := time.Parse(time.RFC1123Z, m["date_created"].(string)); err != nil {
		t.Fatalf("date_created %q is not RFC 2822: %v", m["date_created"], err)
	}
	got := e.fake.Messages()
	if len(got) != 1 || got[0].SID != s || got[0].Body != "洪水预警" {
		t.Fatalf("Messages() = %+v", got)
	}
	status, f := e.do(t, http.MethodGet, e.srv.URL+"/2010-04-01/Accounts/"+sid+"/Messages/"+s+".json", sid, token, nil)
	if status != http.StatusOK || f["sid"] != s {
		t.Fatalf("fetch = %d %v", status, f)
	}
}

func TestCreateErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		user, pass string
		path       string
		form       url.Values
		setup      func(*Server)
		status     int
		code       float64
	}{
		{"noAuth", "", "", "", url.Values{"To": {to}, "From": {from}, "Body": {"x"}}, nil, 401, 20003},
		{"wrongToken", sid, "nope", "", url.Values{"To": {to}, "From": {from}, "Body": {"x"}}, nil, 401, 20003},
		{"otherAccount", sid, token, "/2010-04-01/Accounts/AC99/Messages.json", url.Values{"To": {to}, "From": {from}, "Body": {"x"}}, nil, 404, 20404},
		{"noTo", sid, token, "", url.Values{"From": {from}, "Body": {"x"}}, nil, 400, 21604},
		{"badTo", sid, token, "", url.Values{"To": {"13800000000"}, "From": {from}, "Body": {"x"}}, nil, 400, 21211},
		{"noFrom", sid, token, "", url.Values{"To": {to}, "Body": {"x"}}, nil, 400, 21603},
		{"badFrom", sid, token, "", url.Values{"To": {to}, "From": {"not a sender!"}, "Body": {"x"}}, nil, 400, 21212},
		{"badService", sid, token, "", url.Values{"To": {to}, "MessagingServiceSid": {"MG1"}, "Body": {"x"}}, nil, 400, 21701},
		{"noBody", sid, token, "", url.Values{"To": {to}, "From": {from}}, nil, 400, 21602},
		{"longBody", sid, token, "", url.Values{"To": {to}, "From": {from}, "Body": {strings.Repeat("洪", 1601)}}, nil, 400, 21617},
		{"badCallback", sid, token, "", url.Values{"To": {to}, "From": {from}, "Body": {"x"}, "StatusCallback": {"/relative"}}, nil, 400, 21609},
		{"failNext", sid, token, "", url.Values{"To": {to}, "From": {from}, "Body": {"x"}}, func(s *Server) { s.FailNext(20429, 429, 1) }, 429, 20429},
		{"failFor", sid, token, "", url.Values{"To": {to}, "From": {from}, "Body": {"x"}}, func(s *Server) { s.FailFor(to, 21610, 400) }, 400, 21610},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if c.setup != nil {
				c.setup(e.fake)
			}
			u := e.messagesURL()
			if c.path != "" {
				u = e.srv.URL + c.path
			}
			status, m := e.do(t, http.MethodPost, u, c.user, c.pass, c.form)
			if status != c.status || m["code"] != c.code || m["status"] != float64(c.status) ||
				m["more_info"] != "https://www.twilio.com/docs/errors/"+strconv.Itoa(int(c.code)) || m["message"] == "" {
				t.Fatalf("answer %d %v, want %d code %v", status, m, c.status, c.code)
			}
			if n := len(e.fake.Messages()); n != 0 {
				t.Fatalf("stored %d messages", n)
			}
		})
	}
}

func TestFailNextCountsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.FailNext(20429, 429, 2)
	e.fake.SetRetryAfter(2 * time.Second)
	form := url.Values{"To": {to}, "From": {from}, "Body": {"x"}}
	for i, want := range []int{429, 429, 201} {
		if status, _ := e.create(t, form); status != want {
			t.Fatalf("request %d = %d, want %d", i, status, want)
		}
	}
	if st := e.fake.Stats(); st.Creates != 3 || st.Rejected != 2 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	e.fake.SetNow(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	var sids []string
	for i := range 5 {
		_, m := e.create(t, url.Values{"To": {to}, "From": {from}, "Body": {"msg" + string(rune('0'+i))}})
		sids = append(sids, m["sid"].(string))
		advance(time.Minute)
	}
	e.create(t, url.Values{"To": {"+8613900000000"}, "From": {from}, "Body": {"other"}})
	for _, s := range sids[1:4] { // sent at 08:05; 0 and 4 stay queued
		if err := e.fake.Deliver(context.Background(), s, "sent"); err != nil {
			t.Fatal(err)
		}
	}
	list := func(q string) map[string]any {
		status, m := e.do(t, http.MethodGet, e.messagesURL()+"?"+q, sid, token, nil)
		if status != 200 {
			t.Fatalf("list %s = %d %v", q, status, m)
		}
		return m
	}
	sidsOf := func(m map[string]any) []string {
		var out []string
		for _, x := range m["messages"].([]any) {
			out = append(out, x.(map[string]any)["sid"].(string))
		}
		return out
	}
	// Newest first; To filters.
	if got := sidsOf(list("To=" + url.QueryEscape(to))); strings.Join(got, ",") != strings.Join(reverse(sids), ",") {
		t.Fatalf("list by To = %v", got)
	}
	// DateSent> as twilio-go sends it: only sent messages match.
	q := "To=" + url.QueryEscape(to) + "&DateSent%3E=" + url.QueryEscape("2026-07-01T08:05:00Z")
	if got := sidsOf(list(q)); len(got) != 3 {
		t.Fatalf("DateSent> = %v, want the 3 sent", got)
	}
	if got := sidsOf(list("To=" + url.QueryEscape(to) + "&DateSent%3E=2026-07-01T08:05:01Z")); len(got) != 0 {
		t.Fatalf("DateSent> after = %v", got)
	}
	if got := sidsOf(list("DateSent%3C=2026-07-01T08:05:00Z")); len(got) != 3 {
		t.Fatalf("DateSent< = %v", got)
	}
	if got := sidsOf(list("DateSent=2026-07-01")); len(got) != 3 {
		t.Fatalf("DateSent day = %v", got)
	}
	if status, m := e.do(t, http.MethodGet, e.messagesURL()+"?DateSent%3E=yesterday", sid, token, nil); status != 400 || m["code"] != float64(20001) {
		t.Fatalf("bad date = %d %v", status, m)
	}
	// Paging: next_page_uri carries the filters and a page token.
	p1 := list("To=" + url.QueryEscape(to) + "&PageSize=2")
	next, _ := p1["next_page_uri"].(string)
	if p1["page"] != float64(0) || p1["page_size"] != float64(2) || p1["previous_page_uri"] != nil ||
		!strings.Contains(next, "PageToken=PA") || !strings.Contains(next, "To=%2B86") {
		t.Fatalf("page 1 = %v", p1)
	}
	var all []string
	for m := p1; ; {
		all = append(all, sidsOf(m)...)
		n, _ := m["next_page_uri"].(string)
		if n == "" {
			break
		}
		_, m = e.do(t, http.MethodGet, e.srv.URL+n, sid, token, nil)
	}
	if strings.Join(all, ",") != strings.Join(reverse(sids), ",") {
		t.Fatalf("pages = %v", all)
	}
	if st := e.fake.Stats(); st.Lists < 8 || len(e.fake.ListQueries()) != st.Lists {
		t.Fatalf("stats %+v", st)
	}
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

type captured struct {
	url  string
	body []byte
	form url.Values
	sig  string
}

func callbackReceiver(t *testing.T) (*httptest.Server, <-chan captured) {
	t.Helper()
	ch := make(chan captured, 16)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		ch <- captured{srv.URL + r.URL.RequestURI(), b, form, r.Header.Get("X-Twilio-Signature")}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// TestCallbackSignature proves the fake signs status callbacks the way
// twilio-go's RequestValidator checks them.
func TestCallbackSignature(t *testing.T) {
	t.Parallel()
	recv, got := callbackReceiver(t)
	e := newEnv(t)
	cb := recv.URL + "/webhooks/twilio/status?node=a"
	_, m := e.create(t, url.Values{"To": {to}, "From": {from}, "Body": {"洪水预警"}, "StatusCallback": {cb}})
	if err := e.fake.Deliver(context.Background(), m["sid"].(string), "delivered"); err != nil {
		t.Fatal(err)
	}
	c := <-got
	if c.url != cb || c.form.Get("MessageStatus") != "delivered" || c.form.Get("MessageSid") != m["sid"] ||
		c.form.Get("SmsStatus") != "delivered" || c.form.Get("AccountSid") != sid || c.form.Get("To") != to {
		t.Fatalf("callback %+v", c)
	}
	params := map[string]string{}
	for k, v := range c.form {
		params[k] = v[0]
	}
	v := client.NewRequestValidator(token)
	if !v.Validate(cb, params, c.sig) || !v.ValidateBody(cb, c.body, c.sig) {
		t.Fatalf("twilio-go rejects the fake's signature %q", c.sig)
	}
	wrong := client.NewRequestValidator("another0token")
	params["MessageStatus"] = "failed"
	if wrong.ValidateBody(cb, c.body, c.sig) || v.Validate(cb, params, c.sig) {
		t.Fatalf("a forged callback validates")
	}
	if st := e.fake.Stats(); st.Callbacks != 1 || st.CallbackFailures != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAutoDeliver(t *testing.T) {
	t.Parallel()
	recv, got := callbackReceiver(t)
	e := newEnv(t)
	e.fake.AutoDeliver(10 * time.Millisecond)
	e.fake.UndeliveredFor("+8613900000000", 30003)
	cb := recv.URL + "/cb"
	for _, n := range []string{to, "+8613900000000"} {
		e.create(t, url.Values{"To": {n}, "From": {from}, "Body": {"x"}, "StatusCallback": {cb}})
	}
	seen := map[string][]string{}
	for range 4 {
		c := <-got
		st := c.form.Get("MessageStatus")
		if st == "undelivered" && c.form.Get("ErrorCode") != "30003" {
			t.Fatalf("undelivered callback without its code: %v", c.form)
		}
		seen[c.form.Get("To")] = append(seen[c.form.Get("To")], st)
	}
	if strings.Join(seen[to], ",") != "sent,delivered" || strings.Join(seen["+8613900000000"], ",") != "sent,undelivered" {
		t.Fatalf("callbacks %v", seen)
	}
	for _, m := range e.fake.Messages() {
		if m.Sent.IsZero() {
			t.Fatalf("delivered message without date_sent: %+v", m)
		}
	}
}

func TestCloseStopsScheduledDeliveries(t *testing.T) {
	t.Parallel()
	fake := New(sid, token)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.AutoDeliver(time.Hour)
	e := &env{fake, srv}
	e.create(t, url.Values{"To": {to}, "From": {from}, "Body": {"x"}, "StatusCallback": {"http://127.0.0.1:1/cb"}})
	done := make(chan struct{})
	go func() { fake.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("Close waited for a delivery an hour away")
	}
}

func TestHold(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	held, release := e.fake.Hold()
	answered := make(chan int, 1)
	go func() {
		status, _ := e.create(t, url.Values{"To": {to}, "From": {from}, "Body": {"x"}})
		answered <- status
	}()
	m := <-held
	if got, ok := e.fake.Message(m.SID); !ok || got.Body != "x" {
		t.Fatalf("held message not stored: %+v", got)
	}
	select {
	case s := <-answered:
		t.Fatalf("held request answered %d", s)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if s := <-answered; s != http.StatusCreated {
		t.Fatalf("released request answered %d", s)
	}
	if st := e.fake.Stats(); st.Held != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDropNext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.DropNext(1)
	req, _ := http.NewRequest(http.MethodPost, e.messagesURL(),
		strings.NewReader(url.Values{"To": {to}, "From": {from}, "Body": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(sid, token)
	if resp, err := e.srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request answered %s", resp.Status)
	}
	if n := len(e.fake.Messages()); n != 1 {
		t.Fatalf("dropped request stored %d messages, want 1", n)
	}
}

func TestSegments(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body string
		want int
	}{
		{"", 1}, {strings.Repeat("a", 160), 1}, {strings.Repeat("a", 161), 2}, {strings.Repeat("{", 80), 1},
		{strings.Repeat("{", 81), 2}, {strings.Repeat("洪", 70), 1}, {strings.Repeat("洪", 71), 2},
		{strings.Repeat("洪", 134), 2}, {strings.Repeat("洪", 135), 3}, {strings.Repeat("🌊", 35), 1},
		{strings.Repeat("🌊", 36), 2},
	}
	for _, c := range cases {
		if got := segments(c.body); got != c.want {
			t.Fatalf("segments(%d runes %.8q) = %d, want %d", len([]rune(c.body)), c.body, got, c.want)
		}
	}
}
