package twiliofake

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Call is one call Twilio accepted (Calls API).
type Call struct {
	SID            string
	AccountSID     string
	To, From       string
	Twiml          string // the inline TwiML of the create request
	StatusCallback string
	// Events are the StatusCallbackEvent values asked for (initiated,
	// ringing, answered, completed); Twilio posts "completed" always.
	Events   []string
	Status   string // queued, ringing, in-progress, completed, busy, no-answer, failed, canceled
	Created  time.Time
	Started  time.Time // zero until it rings: Twilio's start_time is null while queued
	Ended    time.Time
	Digits   []string   // keys pressed (PressDigit), in order
	Form     url.Values // the create request's form as received
	Callback int        // status callbacks posted
}

var callStatuses = []string{"queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled"}

func (c *Call) clone() Call {
	x := *c
	x.Events = slices.Clone(c.Events)
	x.Digits = slices.Clone(c.Digits)
	x.Form = url.Values{}
	for k, v := range c.Form {
		x.Form[k] = slices.Clone(v)
	}
	return x
}

// handleCallCreate is POST /2010-04-01/Accounts/{sid}/Calls.json.
func (s *Server) handleCallCreate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.CallCreates++
	s.mu.Unlock()
	if !s.authorize(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.reject(w, failure{20001, http.StatusBadRequest}, "Invalid form body")
		return
	}
	f := r.PostForm
	to, from, twiml, u, cb := f.Get("To"), f.Get("From"), f.Get("Twiml"), f.Get("Url"), f.Get("StatusCallback")
	s.mu.Lock()
	var injected *failure
	if len(s.failNextCall) > 0 {
		injected = &s.failNextCall[0]
		s.failNextCall = s.failNextCall[1:]
	}
	s.mu.Unlock()
	switch {
	case injected != nil:
		s.reject(w, *injected, "Injected failure")
		return
	case to == "":
		s.reject(w, failure{21201, 400}, "No 'To' number is specified")
		return
	case !e164.MatchString(to):
		s.reject(w, failure{21211, 400}, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	case from == "" || !e164.MatchString(from):
		s.reject(w, failure{21212, 400}, fmt.Sprintf("The 'From' number %s is not a valid phone number.", from))
		return
	case twiml == "" && u == "":
		s.reject(w, failure{21205, 400}, "Url or Twiml is required")
		return
	case len([]rune(twiml)) > 4000:
		s.reject(w, failure{21205, 400}, "Twiml exceeds 4000 characters")
		return
	case cb != "" && !validCallback(cb):
		s.reject(w, failure{21609, 400}, fmt.Sprintf("The StatusCallback URL %s is not a valid URL.", cb))
		return
	}
	s.mu.Lock()
	now := s.now().UTC().Truncate(time.Second)
	c := &Call{SID: newSID("CA"), AccountSID: s.accountSID, To: to, From: from, Twiml: twiml, StatusCallback: cb,
		Events: f["StatusCallbackEvent"], Status: "queued", Created: now, Form: f}
	s.calls = append(s.calls, c)
	s.callBySID[c.SID] = c
	s.stats.CallsAccepted++
	resp := c.json()
	hold := s.hold
	if hold != nil {
		s.stats.Held++
	}
	log := s.log
	s.mu.Unlock()
	log.Info("twiliofake: call accepted", slog.String("sid", c.SID), slog.String("to", to))
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
	writeJSON(w, http.StatusCreated, resp)
}

// callJSON is Twilio's Call resource.
type callJSON struct {
	AccountSID  string  `json:"account_sid"`
	APIVersion  string  `json:"api_version"`
	DateCreated string  `json:"date_created"`
	DateUpdated string  `json:"date_updated"`
	Direction   string  `json:"direction"`
	Duration    *string `json:"duration"`
	EndTime     *string `json:"end_time"`
	From        string  `json:"from"`
	SID         string  `json:"sid"`
	StartTime   *string `json:"start_time"`
	Status      string  `json:"status"`
	To          string  `json:"to"`
	URI         string  `json:"uri"`
}

func (c *Call) json() callJSON {
	j := callJSON{AccountSID: c.AccountSID, APIVersion: apiVersion, DateCreated: rfc2822(c.Created),
		DateUpdated: rfc2822(c.Created), Direction: "outbound-api", From: c.From, SID: c.SID, Status: c.Status,
		To: c.To, URI: "/2010-04-01/Accounts/" + c.AccountSID + "/Calls/" + c.SID + ".json"}
	if !c.Started.IsZero() {
		j.StartTime = strPtr(rfc2822(c.Started))
	}
	if !c.Ended.IsZero() {
		j.EndTime = strPtr(rfc2822(c.Ended))
		j.Duration = strPtr(strconv.Itoa(int(c.Ended.Sub(c.Started) / time.Second)))
	}
	return j
}

// handleCallFetch is GET /2010-04-01/Accounts/{sid}/Calls/{sid}.json.
func (s *Server) handleCallFetch(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r) {
		return
	}
	sid, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	s.mu.Lock()
	c := s.callBySID[sid]
	var resp callJSON
	if c != nil {
		resp = c.json()
	}
	s.mu.Unlock()
	if !ok || c == nil {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleCallList is GET /2010-04-01/Accounts/{sid}/Calls.json with the
// filters To, From, Status, StartTime> and StartTime< (a call not started
// has no start_time and matches neither), newest first, paged by PageSize
// and Page.
func (s *Server) handleCallList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.CallLists++
	s.mu.Unlock()
	if !s.authorize(w, r) {
		return
	}
	q := r.URL.Query()
	var after, before time.Time
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"StartTime>", &after}, {"StartTime<", &before}} {
		if v := q.Get(p.key); v != "" {
			t, err := parseDate(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, 20001, "Invalid date value for "+p.key)
				return
			}
			*p.t = t
		}
	}
	size, page, ok := pageParams(w, q)
	if !ok {
		return
	}
	s.mu.Lock()
	var match []*Call
	for _, c := range s.calls {
		switch {
		case q.Has("To") && c.To != q.Get("To"):
		case q.Has("From") && c.From != q.Get("From"):
		case q.Has("Status") && c.Status != q.Get("Status"):
		case (!after.IsZero() || !before.IsZero()) && c.Started.IsZero():
		case !after.IsZero() && c.Started.Before(after):
		case !before.IsZero() && c.Started.After(before):
		default:
			match = append(match, c)
		}
	}
	slices.Reverse(match)
	slices.SortStableFunc(match, func(a, b *Call) int { return b.Created.Compare(a.Created) })
	start := min(page*size, len(match))
	end := min(start+size, len(match))
	out := struct {
		Calls       []callJSON `json:"calls"`
		Page        int        `json:"page"`
		PageSize    int        `json:"page_size"`
		URI         string     `json:"uri"`
		NextPageURI *string    `json:"next_page_uri"`
	}{Calls: []callJSON{}, Page: page, PageSize: size, URI: r.URL.RequestURI()}
	for _, c := range match[start:end] {
		out.Calls = append(out.Calls, c.json())
	}
	s.mu.Unlock()
	if end < len(match) {
		v := r.URL.Query()
		v.Set("Page", strconv.Itoa(page+1))
		next := r.URL.Path + "?" + v.Encode()
		out.NextPageURI = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// Calls returns the accepted calls, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = c.clone()
	}
	return out
}

// FailNextCall makes the next n call creates fail with this Twilio error
// code and HTTP status.
func (s *Server) FailNextCall(code, httpStatus, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNextCall = append(s.failNextCall, failure{code, httpStatus})
	}
}

// SetCallStatus moves the call to status and posts the signed status
// callback Twilio would (CallSid, CallStatus, ...) when the call has a
// StatusCallback. ringing stamps start_time; completed, busy, no-answer,
// failed and canceled stamp end_time.
func (s *Server) SetCallStatus(ctx context.Context, sid, status string) error {
	if !slices.Contains(callStatuses, status) {
		return fmt.Errorf("twiliofake: unknown call status %q", status)
	}
	s.mu.Lock()
	c, ok := s.callBySID[sid]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("twiliofake: no call %s", sid)
	}
	now := s.now().UTC().Truncate(time.Second)
	c.Status = status
	switch status {
	case "ringing", "in-progress":
		if c.Started.IsZero() {
			c.Started = now
		}
	case "completed", "busy", "no-answer", "failed", "canceled":
		if c.Started.IsZero() {
			c.Started = now
		}
		c.Ended = now
	}
	c.Callback++
	params := url.Values{"AccountSid": {c.AccountSID}, "ApiVersion": {apiVersion}, "CallSid": {c.SID},
		"CallStatus": {status}, "Direction": {"outbound-api"}, "From": {c.From}, "To": {c.To},
		"SequenceNumber": {strconv.Itoa(c.Callback - 1)}, "Timestamp": {now.Format(time.RFC1123Z)}}
	if !c.Ended.IsZero() {
		params.Set("CallDuration", strconv.Itoa(int(c.Ended.Sub(c.Started)/time.Second)))
	}
	cb := c.StatusCallback
	s.mu.Unlock()
	if cb == "" {
		return nil
	}
	err := s.post(ctx, cb, params)
	s.mu.Lock()
	s.stats.Callbacks++
	if err != nil {
		s.stats.CallbackFailures++
	}
	s.mu.Unlock()
	return err
}

var gatherAction = regexp.MustCompile(`<Gather[^>]*\saction="([^"]*)"`)

// PressDigit answers the call (in-progress, with its status callback) and
// presses digits: it posts the signed gather webhook of the call's TwiML
// (the <Gather> action, its query included) with Digits, as Twilio does,
// and returns the hub's answer (TwiML). A call whose TwiML has no
// <Gather> is an error. The call stays in progress: end it with
// SetCallStatus(completed).
func (s *Server) PressDigit(ctx context.Context, sid, digits string) (status int, twiml string, err error) {
	s.mu.Lock()
	c, ok := s.callBySID[sid]
	var tw string
	var st string
	if ok {
		tw, st = c.Twiml, c.Status
		c.Digits = append(c.Digits, digits)
	}
	s.mu.Unlock()
	if !ok {
		return 0, "", fmt.Errorf("twiliofake: no call %s", sid)
	}
	if st != "in-progress" {
		if err := s.SetCallStatus(ctx, sid, "in-progress"); err != nil {
			return 0, "", err
		}
	}
	return s.Gather(ctx, sid, tw, digits)
}

// Gather posts the gather webhook of twiml (its <Gather> action) for the
// call with Digits, signed, and returns the hub's status and answer.
func (s *Server) Gather(ctx context.Context, sid, twiml, digits string) (int, string, error) {
	m := gatherAction.FindStringSubmatch(twiml)
	if m == nil {
		return 0, "", fmt.Errorf("twiliofake: no <Gather action> in %q", twiml)
	}
	action := html.UnescapeString(m[1])
	s.mu.Lock()
	c := s.callBySID[sid]
	params := url.Values{"AccountSid": {s.accountSID}, "ApiVersion": {apiVersion}, "CallSid": {sid},
		"CallStatus": {"in-progress"}, "Digits": {digits}, "Direction": {"outbound-api"}, "FinishedOnKey": {""}}
	if c != nil {
		params.Set("From", c.From)
		params.Set("To", c.To)
	}
	s.mu.Unlock()
	return s.postRead(ctx, action, params)
}

// InboundSMS posts what Twilio posts for an SMS a phone sends to the
// hub's number: the signed incoming-message webhook (MessageSid, From,
// To, Body, ...) to url (the hub's public URL + /webhooks/twilio/sms). An
// empty sid gets a new one; the same sid again is Twilio's retry. It
// returns the hub's status and answer.
func (s *Server) InboundSMS(ctx context.Context, url_, sid, from, to, body string) (int, string, error) {
	if sid == "" {
		sid = newSID("SM")
	}
	params := url.Values{"AccountSid": {s.accountSID}, "ApiVersion": {apiVersion}, "Body": {body},
		"From": {from}, "MessageSid": {sid}, "NumMedia": {"0"}, "NumSegments": {"1"}, "SmsMessageSid": {sid},
		"SmsSid": {sid}, "SmsStatus": {"received"}, "To": {to}}
	return s.postRead(ctx, url_, params)
}

// postRead posts a signed form to url and returns the answer.
func (s *Server) postRead(ctx context.Context, target string, params url.Values) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode()))
	if err != nil {
		return 0, "", fmt.Errorf("twiliofake: webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Signature(s.authToken, target, params))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("twiliofake: webhook: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("twiliofake: webhook answer: %w", err)
	}
	return resp.StatusCode, string(b), nil
}
