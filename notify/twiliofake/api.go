package twiliofake

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const apiVersion = "2010-04-01"

// serviceSender is the number a messaging service "picks" when it sends.
const serviceSender = "+15005550006"

var (
	e164        = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	alphaSender = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	shortCode   = regexp.MustCompile(`^[0-9]{3,8}$`)
	serviceSID  = regexp.MustCompile(`^MG[0-9a-f]{32}$`)
)

// errorJSON is Twilio's error body.
type errorJSON struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, errorJSON{Code: code, Message: msg,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// authorize checks HTTP Basic auth and that the account in the path is the
// authenticated one, answering the error itself when not.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.accountSID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.authToken)) != 1 {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 20003,
			"detail": "Your AccountSid or AuthToken was incorrect.", "message": "Authenticate",
			"more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})
		return false
	}
	if r.PathValue("account") != s.accountSID {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return false
	}
	return true
}

// handleCreate is POST /2010-04-01/Accounts/{sid}/Messages.json.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Creates++
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
	to, from, svc, body, cb := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid"), f.Get("Body"), f.Get("StatusCallback")

	s.mu.Lock()
	var injected *failure
	if len(s.failNext) > 0 {
		injected = &s.failNext[0]
		s.failNext = s.failNext[1:]
	}
	perNumber, failsFor := s.failFor[to]
	s.mu.Unlock()
	switch {
	case injected != nil: // rate limits and outages come before validation
		s.reject(w, *injected, "Injected failure")
		return
	case to == "":
		s.reject(w, failure{21604, 400}, "A 'To' phone number is required.")
		return
	case !e164.MatchString(to):
		s.reject(w, failure{21211, 400}, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	case from == "" && svc == "":
		s.reject(w, failure{21603, 400}, "A 'From' phone number is required.")
		return
	case from != "" && !e164.MatchString(from) && !alphaSender.MatchString(from) && !shortCode.MatchString(from):
		s.reject(w, failure{21212, 400}, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from))
		return
	case svc != "" && !serviceSID.MatchString(svc):
		s.reject(w, failure{21701, 400}, fmt.Sprintf("The Messaging Service Sid %s is invalid.", svc))
		return
	case body == "":
		s.reject(w, failure{21602, 400}, "Message body is required.")
		return
	case utf8.RuneCountInString(body) > 1600:
		s.reject(w, failure{21617, 400}, "The concatenated message body exceeds the 1600 character limit.")
		return
	case cb != "" && !validCallback(cb):
		s.reject(w, failure{21609, 400}, fmt.Sprintf("The StatusCallback URL %s is not a valid URL.", cb))
		return
	case failsFor:
		s.reject(w, perNumber, fmt.Sprintf("Injected failure for %s", to))
		return
	}

	s.mu.Lock()
	now := s.now().UTC().Truncate(time.Second)
	m := &Message{SID: newSID("SM"), AccountSID: s.accountSID, To: to, From: from, MessagingServiceSID: svc,
		Body: body, StatusCallback: cb, Status: "queued", NumSegments: segments(body),
		Created: now, Updated: now, Form: f}
	if from == "" {
		m.Status = "accepted" // a messaging service has not picked a sender yet
	}
	s.msgs = append(s.msgs, m)
	s.bySID[m.SID] = m
	s.stats.Accepted++
	resp := m.json()
	drop := s.dropNext > 0
	if drop {
		s.dropNext--
		s.stats.Dropped++
	}
	hold, held := s.hold, s.held
	if hold != nil && !drop {
		s.stats.Held++
	}
	delay := s.delay
	if s.autoDeliver > 0 {
		s.scheduleLocked(m.SID, s.autoDeliver)
	}
	log := s.log
	s.mu.Unlock()
	log.Info("twiliofake: message accepted", slog.String("sid", m.SID), slog.String("to", to),
		slog.String("body", body), slog.Int("segments", m.NumSegments))

	switch {
	case drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	case hold != nil:
		select {
		case held <- m.clone():
		default:
		}
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) reject(w http.ResponseWriter, f failure, msg string) {
	s.mu.Lock()
	s.stats.Rejected++
	ra := s.retryAfter
	s.mu.Unlock()
	if ra > 0 && (f.status == http.StatusTooManyRequests || f.status >= 500) {
		w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
	}
	if f.code == 0 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", f.status, http.StatusText(f.status))
		return
	}
	writeError(w, f.status, f.code, msg)
}

func validCallback(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// handleFetch is GET /2010-04-01/Accounts/{sid}/Messages/{sid}.json.
func (s *Server) handleFetch(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Fetches++
	s.mu.Unlock()
	if !s.authorize(w, r) {
		return
	}
	sid, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	s.mu.Lock()
	m := s.bySID[sid]
	var resp messageJSON
	if m != nil {
		resp = m.json()
	}
	s.mu.Unlock()
	if !ok || m == nil {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// listJSON is Twilio's page of a list.
type listJSON struct {
	FirstPageURI    string        `json:"first_page_uri"`
	End             int           `json:"end"`
	PreviousPageURI *string       `json:"previous_page_uri"`
	Messages        []messageJSON `json:"messages"`
	URI             string        `json:"uri"`
	PageSize        int           `json:"page_size"`
	Start           int           `json:"start"`
	NextPageURI     *string       `json:"next_page_uri"`
	Page            int           `json:"page"`
}

// handleList is GET /2010-04-01/Accounts/{sid}/Messages.json with Twilio's
// filters: To, From, DateSent (that day), DateSent> (on or after) and
// DateSent< (on or before), each date as YYYY-MM-DD or RFC 3339. A message
// not sent yet has no date_sent and so never matches a DateSent filter.
// Newest first; pages by PageSize, Page and PageToken.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Lists++
	s.listQueries = append(s.listQueries, r.URL.RawQuery)
	s.mu.Unlock()
	if !s.authorize(w, r) {
		return
	}
	q := r.URL.Query()
	var after, before, on time.Time
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"DateSent>", &after}, {"DateSent<", &before}, {"DateSent", &on}} {
		v := q.Get(p.key)
		if v == "" {
			continue
		}
		t, err := parseDate(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, 20001, "Invalid date value for "+p.key)
			return
		}
		*p.t = t
	}
	size, page, ok := pageParams(w, q)
	if !ok {
		return
	}

	s.mu.Lock()
	var match []*Message
	for _, m := range s.msgs {
		switch {
		case q.Has("To") && m.To != q.Get("To"):
		case q.Has("From") && m.From != q.Get("From"):
		case (!after.IsZero() || !before.IsZero() || !on.IsZero()) && m.Sent.IsZero():
		case !after.IsZero() && m.Sent.Before(after):
		case !before.IsZero() && m.Sent.After(before):
		case !on.IsZero() && !sameDay(m.Sent, on):
		default:
			match = append(match, m)
		}
	}
	slices.Reverse(match) // s.msgs is in creation order; Twilio lists newest first
	slices.SortStableFunc(match, func(a, b *Message) int { return b.Created.Compare(a.Created) })
	start := page * size
	if tok := q.Get("PageToken"); strings.HasPrefix(tok, "PA") {
		// The token names the last message of the previous page, so pages
		// stay stable while new messages arrive.
		if i := slices.IndexFunc(match, func(m *Message) bool { return m.SID == tok[2:] }); i >= 0 {
			start = i + 1
		}
	}
	start = min(start, len(match))
	end := min(start+size, len(match))
	out := listJSON{Messages: []messageJSON{}, Page: page, PageSize: size, Start: start, End: max(end-1, start)}
	for _, m := range match[start:end] {
		out.Messages = append(out.Messages, m.json())
	}
	var lastSID string
	if end > start {
		lastSID = match[end-1].SID
	}
	s.mu.Unlock()

	pageURI := func(p int, token string) string {
		v := url.Values{}
		for _, k := range []string{"To", "From", "DateSent", "DateSent<", "DateSent>"} {
			if q.Has(k) {
				v.Set(k, q.Get(k))
			}
		}
		v.Set("PageSize", strconv.Itoa(size))
		v.Set("Page", strconv.Itoa(p))
		if token != "" {
			v.Set("PageToken", token)
		}
		return r.URL.Path + "?" + v.Encode()
	}
	out.URI = pageURI(page, q.Get("PageToken"))
	out.FirstPageURI = pageURI(0, "")
	if end < len(match) {
		next := pageURI(page+1, "PA"+lastSID)
		out.NextPageURI = &next
	}
	if page > 0 {
		prev := pageURI(page-1, "")
		out.PreviousPageURI = &prev
	}
	writeJSON(w, http.StatusOK, out)
}

func parseDate(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, v)
}

func sameDay(a, b time.Time) bool {
	a, b = a.UTC(), b.UTC()
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// messageJSON is Twilio's Message resource.
type messageJSON struct {
	AccountSID          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSID *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	SID                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

// rfc2822 is how Twilio writes dates: "Thu, 24 Aug 2023 05:01:45 +0000".
func rfc2822(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (m *Message) json() messageJSON {
	uri := "/2010-04-01/Accounts/" + m.AccountSID + "/Messages/" + m.SID
	j := messageJSON{
		AccountSID: m.AccountSID, APIVersion: apiVersion, Body: m.Body,
		DateCreated: rfc2822(m.Created), DateUpdated: rfc2822(m.Updated), Direction: "outbound-api",
		From: strPtr(m.From), MessagingServiceSID: strPtr(m.MessagingServiceSID),
		NumMedia: "0", NumSegments: strconv.Itoa(m.NumSegments), PriceUnit: "USD",
		SID: m.SID, Status: m.Status, To: m.To, URI: uri + ".json",
		SubresourceURIs: map[string]string{"media": uri + "/Media.json", "feedback": uri + "/Feedback.json"},
	}
	if m.From == "" {
		j.NumSegments = "0" // Twilio: 0 until a messaging service assigns a sender
	}
	if !m.Sent.IsZero() {
		j.DateSent = strPtr(rfc2822(m.Sent))
	}
	if m.ErrorCode != 0 {
		code, msg := m.ErrorCode, "Message delivery failed"
		j.ErrorCode, j.ErrorMessage = &code, &msg
	}
	return j
}

// pageParams reads a list request's PageSize (default 50, at most 1000)
// and Page; a bad PageSize is answered 400 and ok is false.
func pageParams(w http.ResponseWriter, q url.Values) (size, page int, ok bool) {
	size = 50
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, 20001, "Invalid PageSize")
			return 0, 0, false
		}
		size = min(n, 1000)
	}
	page, _ = strconv.Atoi(q.Get("Page"))
	return size, page, true
}
