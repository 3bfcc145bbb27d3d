// Package twiliofake is an in-process stand-in for the part of Twilio's
// Messages API that notify.Twilio calls through twilio-go: create a message,
// list and fetch messages, and the signed status callbacks Twilio posts back.
// It answers with Twilio's real JSON shapes and error codes, and it has
// controls to make Twilio misbehave (rate limits, per-number failures,
// answers that never arrive) so tests can check that every due member gets
// exactly one SMS. It fakes the outside world at the HTTP boundary: run it
// under httptest.NewServer, or as a process with cmd/twiliofake.
package twiliofake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Message is one message Twilio accepted.
type Message struct {
	SID                 string
	AccountSID          string
	To                  string
	From                string // empty until a messaging service picks a sender
	MessagingServiceSID string
	Body                string
	StatusCallback      string
	Status              string // queued, accepted, sent, delivered, undelivered, failed...
	NumSegments         int
	ErrorCode           int // set when undelivered or failed
	Created             time.Time
	Updated             time.Time
	Sent                time.Time  // zero until sent: Twilio's date_sent is null until then
	Form                url.Values // the create request's form as received
}

// Stats counts requests by kind.
type Stats struct {
	Creates          int // POST .../Messages.json, whatever the outcome
	Accepted         int // creates that stored a message
	Rejected         int // creates answered with a Twilio error (validation, FailNext, FailFor)
	Dropped          int // creates accepted and then cut off without an answer (DropNext)
	Held             int // creates accepted and then held (Hold)
	Lists            int // GET .../Messages.json
	Fetches          int // GET .../Messages/{sid}.json
	Unauthorized     int // requests refused for bad credentials
	Callbacks        int // status callbacks posted
	CallbackFailures int // status callbacks that failed or got a non-2xx answer
	CallCreates      int // POST .../Calls.json, whatever the outcome
	CallsAccepted    int // call creates that stored a call
	CallLists        int // GET .../Calls.json
}

type failure struct {
	code, status int
}

// Server is the fake Twilio. It is an http.Handler; the zero value is not
// usable, call New. Close it to stop scheduled deliveries.
type Server struct {
	accountSID, authToken string
	mux                   *http.ServeMux
	client                *http.Client // posts status callbacks
	ctx                   context.Context
	cancel                context.CancelFunc
	wg                    sync.WaitGroup // scheduled and running auto-deliveries

	mu          sync.Mutex // guards the following fields
	now         func() time.Time
	log         *slog.Logger
	msgs        []*Message
	bySID       map[string]*Message
	failNext    []failure
	failFor     map[string]failure
	undelivered map[string]int
	retryAfter  time.Duration
	delay       time.Duration
	dropNext    int
	hold        chan struct{} // non-nil while holding; closed by release
	held        chan Message
	autoDeliver time.Duration
	timers      map[*time.Timer]struct{}
	listQueries []string
	stats       Stats
	// Calls (calls.go).
	calls        []*Call
	callBySID    map[string]*Call
	failNextCall []failure
}

// New returns a fake Twilio for one account: every request must carry HTTP
// Basic auth accountSID:authToken, and status callbacks are signed with
// authToken.
func New(accountSID, authToken string) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		accountSID:  accountSID,
		authToken:   authToken,
		mux:         http.NewServeMux(),
		client:      &http.Client{Timeout: 10 * time.Second},
		ctx:         ctx,
		cancel:      cancel,
		now:         time.Now,
		log:         slog.New(slog.DiscardHandler),
		bySID:       map[string]*Message{},
		failFor:     map[string]failure{},
		undelivered: map[string]int{},
		timers:      map[*time.Timer]struct{}{},
		callBySID:   map[string]*Call{},
	}
	s.mux.HandleFunc("POST /2010-04-01/Accounts/{account}/Messages.json", s.handleCreate)
	s.mux.HandleFunc("GET /2010-04-01/Accounts/{account}/Messages.json", s.handleList)
	s.mux.HandleFunc("GET /2010-04-01/Accounts/{account}/Messages/{file}", s.handleFetch)
	s.mux.HandleFunc("POST /2010-04-01/Accounts/{account}/Calls.json", s.handleCallCreate)
	s.mux.HandleFunc("GET /2010-04-01/Accounts/{account}/Calls.json", s.handleCallList)
	s.mux.HandleFunc("GET /2010-04-01/Accounts/{account}/Calls/{file}", s.handleCallFetch)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	return s
}

// ServeHTTP answers one Twilio API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops scheduled deliveries, releases held requests and waits for
// callbacks in flight.
func (s *Server) Close() {
	s.cancel()
	s.mu.Lock()
	for tm := range s.timers {
		if tm.Stop() {
			s.wg.Done() // its delivery never starts
		}
		delete(s.timers, tm)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// SetNow sets the clock the fake stamps messages with (default time.Now).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetLogger logs each accepted message and callback (default: nothing).
func (s *Server) SetLogger(l *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = l
}

// FailNext makes the next n create requests fail with this Twilio error
// code and HTTP status, before anything is stored (20429/429 is Twilio's
// rate limit). Code 0 answers with a plain-text body instead of Twilio's
// JSON, as a proxy in front of Twilio would. Calls queue up in order.
func (s *Server) FailNext(code, httpStatus, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, failure{code, httpStatus})
	}
}

// FailFor makes every create request to the number to fail with this
// Twilio error code and HTTP status (21610 unsubscribed, 21614 not a
// mobile, ...). Code 0 removes the failure.
func (s *Server) FailFor(to string, code, httpStatus int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.failFor, to)
		return
	}
	s.failFor[to] = failure{code, httpStatus}
}

// UndeliveredFor makes messages to the number end "undelivered" with this
// error code (30003 unreachable handset, ...) when delivered automatically
// or by Deliver. Code 0 removes it.
func (s *Server) UndeliveredFor(to string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.undelivered, to)
		return
	}
	s.undelivered[to] = code
}

// SetRetryAfter adds a Retry-After header to the failures FailNext and
// FailFor inject with HTTP status 429 or 5xx; zero removes it.
func (s *Server) SetRetryAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = d
}

// Delay makes each accepted create wait d before it answers: the message is
// stored first, so a client that times out has still sent it. Zero removes
// the delay.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// DropNext makes the next n create requests store the message and then
// close the connection without answering: the sender cannot know that the
// message went out.
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropNext += n
}

// Hold makes create requests (of messages and of calls), from now until
// release is called, store the message (or call) and then hang without
// answering, so a test can cancel the sender or kill its process with a
// request in flight. Each held message (not call: see Calls) is sent
// on the returned channel (buffered; a full channel drops the notice).
// release lets the held requests answer; a request whose client went away
// answers nothing.
func (s *Server) Hold() (held <-chan Message, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, gate := make(chan Message, 1024), make(chan struct{})
	s.hold, s.held = gate, ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == gate {
				s.hold, s.held = nil, nil
			}
			s.mu.Unlock()
			close(gate)
		})
	}
}

// AutoDeliver makes each message accepted from now on go "sent" and then
// "delivered" (or "undelivered", see UndeliveredFor) d after it was
// accepted, posting a signed status callback for each when the message has
// a StatusCallback. Zero turns it off.
func (s *Server) AutoDeliver(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.autoDeliver = d
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = m.clone()
	}
	return out
}

// Message returns the accepted message with this SID.
func (s *Server) Message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.bySID[sid]
	if !ok {
		return Message{}, false
	}
	return m.clone(), true
}

// Stats returns the request counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ListQueries returns the raw query string of every list request, as the
// client sent it (twilio-go sends DateSent> as "DateSent%3E=...").
func (s *Server) ListQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.listQueries)
}

func (m *Message) clone() Message {
	c := *m
	c.Form = url.Values{}
	for k, v := range m.Form {
		c.Form[k] = slices.Clone(v)
	}
	return c
}

// newSID is a Twilio SID: a two-letter prefix and 32 hex digits.
func newSID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
