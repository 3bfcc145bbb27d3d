package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twilio/twilio-go/client"
	twapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/longyou/hub/internal/errd"
)

// TwilioConfig configures the Twilio sender.
type TwilioConfig struct {
	AccountSID, AuthToken string
	From                  string // sender number, or
	MessagingServiceSID   string // a messaging service (one of From / MessagingServiceSID is required)
	// APIURL is the base URL of the API; "" means https://api.twilio.com
	// (a regional proxy, or a local fake in tests).
	APIURL string
	// StatusCallbackURL is where Twilio posts delivery status: the hub's
	// public URL + "/webhooks/twilio/status". "" means no callbacks.
	StatusCallbackURL string
	// Timeout bounds each HTTP request to Twilio, reading the answer
	// included. Zero means 10 seconds.
	Timeout time.Duration
	// Logger gets a debug line per accepted message and an error line per
	// account-level failure (bad credentials, bad sender). Nil discards.
	Logger *slog.Logger
}

// DefaultTwilioAPIURL is where requests go when TwilioConfig.APIURL is empty.
const DefaultTwilioAPIURL = "https://api.twilio.com"

// ErrOutcomeUnknown marks a send whose request reached Twilio but whose
// answer did not come back (timeout, connection lost, cancelled): Twilio
// may have accepted the message. Such errors are not a *SendError; the
// caller should find out with Lookup instead of sending again.
var ErrOutcomeUnknown = errors.New("sms outcome unknown")

// Twilio sends SMS through Twilio's Messages API with the twilio-go
// library.
type Twilio struct {
	cfg       TwilioConfig
	base      *url.URL
	transport *http.Transport // dedicated: its own pool, not http.DefaultTransport's
	validator client.RequestValidator
	log       *slog.Logger
}

var (
	_ Sender     = (*Twilio)(nil)
	_ Reconciler = (*Twilio)(nil)

	alnum = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// NewTwilio checks cfg and returns a Twilio sender. It makes no request.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	// twilio-go refuses, at every request, credentials that are not
	// alphanumeric (its errors 21222/21224); refuse them at startup instead.
	if !alnum.MatchString(cfg.AccountSID) || !strings.HasPrefix(cfg.AccountSID, "AC") {
		return nil, errors.New("twilio: the account SID must be AC followed by letters and digits")
	}
	if !alnum.MatchString(cfg.AuthToken) {
		return nil, errors.New("twilio: the auth token must be letters and digits")
	}
	switch {
	case cfg.From == "" && cfg.MessagingServiceSID == "":
		return nil, errors.New("twilio: a sender number (From) or a messaging service SID is required")
	case strings.HasPrefix(cfg.From, "+") && !ValidE164(cfg.From):
		return nil, fmt.Errorf("twilio: sender number %q is not E.164", cfg.From)
	case cfg.MessagingServiceSID != "" && (!strings.HasPrefix(cfg.MessagingServiceSID, "MG") || !alnum.MatchString(cfg.MessagingServiceSID)):
		return nil, fmt.Errorf("twilio: messaging service SID %q must be MG followed by letters and digits", cfg.MessagingServiceSID)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultTwilioAPIURL
	}
	base, err := url.Parse(cfg.APIURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" {
		return nil, fmt.Errorf("twilio: API URL %q must be an http(s) URL without a query", cfg.APIURL)
	}
	base.Path = strings.TrimRight(base.Path, "/")
	if cfg.StatusCallbackURL != "" {
		u, err := url.Parse(cfg.StatusCallbackURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("twilio: status callback URL %q must be an absolute http(s) URL", cfg.StatusCallbackURL)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &Twilio{cfg: cfg, base: base, transport: tr,
		validator: client.NewRequestValidator(cfg.AuthToken), log: log}, nil
}

// CloseIdleConnections closes the sender's idle connections to Twilio.
func (t *Twilio) CloseIdleConnections() { t.transport.CloseIdleConnections() }

// Send hands m to Twilio. It returns a *SendError when Twilio (or a proxy
// in front of it) refused the message, or when the request never left (see
// classify for which refusals are permanent), and an error wrapping
// ErrOutcomeUnknown when the request went out but no answer came back.
func (t *Twilio) Send(ctx context.Context, m Message) (res Result, err error) {
	defer errd.Wrap(&err, "twilio send")
	if !ValidE164(m.To) {
		return Result{}, &SendError{Code: "21211", Permanent: true,
			Err: fmt.Errorf("%q is not an E.164 number", m.To)}
	}
	c := t.newCall(ctx)
	defer c.done()
	p := &twapi.CreateMessageParams{}
	p.SetTo(m.To)
	p.SetBody(m.Body)
	if t.cfg.From != "" {
		p.SetFrom(t.cfg.From)
	}
	if t.cfg.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(t.cfg.MessagingServiceSID)
	}
	if t.cfg.StatusCallbackURL != "" {
		p.SetStatusCallback(t.cfg.StatusCallbackURL)
	}
	msg, err := c.api.CreateMessage(p)
	if err != nil {
		return Result{}, t.failure(ctx, c, err)
	}
	if st := c.lastStatus(); st < 200 || st > 299 {
		// A redirect whose body happened to decode (see failure).
		return Result{}, &SendError{Code: "http_" + strconv.Itoa(st),
			Err: fmt.Errorf("the API URL redirects (HTTP %d); check -twilio-api-url", st)}
	}
	if msg.Sid == nil || *msg.Sid == "" {
		return Result{}, fmt.Errorf("%w: Twilio answered without a message SID", ErrOutcomeUnknown)
	}
	res = Result{ProviderID: *msg.Sid, Status: deref(msg.Status), Segments: segmentsOf(msg.NumSegments, m.Body)}
	t.log.LogAttrs(ctx, slog.LevelDebug, "twilio accepted SMS", slog.String("key", m.Key),
		slog.String("sid", res.ProviderID), slog.String("status", res.Status), slog.Int("segments", res.Segments))
	return res, nil
}

// lookupPage bounds each list Lookup reads: a resident's number gets a
// handful of messages in the window the hub asks about.
const lookupPage = 50

// Lookup finds a message to m.To accepted (date_created) at or after since.
// When m.Body is set only a message with that body counts, so an alert SMS
// is not taken for the all-clear sent to the same number a minute later;
// without a body the earliest message in the window counts. It asks twice:
// with the DateSent> filter for messages Twilio has sent, then without a
// date filter for those still queued, whose date_sent is null and so never
// match a DateSent filter.
func (t *Twilio) Lookup(ctx context.Context, m Message, since time.Time) (res Result, found bool, err error) {
	defer errd.Wrap(&err, "twilio lookup")
	if m.To == "" {
		return Result{}, false, errors.New("no number to look up")
	}
	// Twilio's dates have whole seconds: round since down so a message
	// created in since's second still counts.
	since = since.UTC().Truncate(time.Second)
	sent := (&twapi.ListMessageParams{}).SetTo(m.To).SetDateSentAfter(since).
		SetPageSize(lookupPage).SetLimit(4 * lookupPage)
	recent := (&twapi.ListMessageParams{}).SetTo(m.To).SetPageSize(lookupPage).SetLimit(lookupPage)
	for _, p := range []*twapi.ListMessageParams{sent, recent} {
		msgs, err := t.list(ctx, p)
		if err != nil {
			return Result{}, false, err
		}
		if r, ok := pick(msgs, m, since); ok {
			return r, true, nil
		}
	}
	return Result{}, false, nil
}

func (t *Twilio) list(ctx context.Context, p *twapi.ListMessageParams) ([]twapi.ApiV2010Message, error) {
	c := t.newCall(ctx)
	defer c.done()
	msgs, err := c.api.ListMessage(p)
	if err != nil {
		return nil, t.failure(ctx, c, err)
	}
	return msgs, nil
}

// pick returns the earliest outgoing message in msgs created at or after
// since that matches m's body (when m has one).
func pick(msgs []twapi.ApiV2010Message, m Message, since time.Time) (Result, bool) {
	var best *twapi.ApiV2010Message
	var bestAt time.Time
	for i := range msgs {
		x := &msgs[i]
		if d := deref(x.Direction); d != "" && !strings.HasPrefix(d, "outbound") {
			continue
		}
		at, err := time.Parse(time.RFC1123Z, deref(x.DateCreated))
		if err != nil || at.Before(since) || deref(x.Sid) == "" {
			continue
		}
		if m.Body != "" && !sameBody(deref(x.Body), m.Body) {
			continue
		}
		if best == nil || at.Before(bestAt) {
			best, bestAt = x, at
		}
	}
	if best == nil {
		return Result{}, false
	}
	return Result{ProviderID: *best.Sid, Status: deref(best.Status), Segments: segmentsOf(best.NumSegments, deref(best.Body))}, true
}

// smartEncoding undoes the replacements Twilio's Smart Encoding (a
// messaging-service setting) may have made in a stored body.
var smartEncoding = strings.NewReplacer("…", "...", "“", `"`, "”", `"`, "‘", "'", "’", "'",
	"—", "-", "–", "-", "\u00a0", " ")

func sameBody(stored, sent string) bool {
	return stored == sent || smartEncoding.Replace(stored) == smartEncoding.Replace(sent)
}

// ValidateCallback checks X-Twilio-Signature for a form POST to url with
// these params, with twilio-go's RequestValidator. An empty signature is
// never valid.
func (t *Twilio) ValidateCallback(url string, params map[string]string, signature string) bool {
	return signature != "" && t.validator.Validate(url, params, signature)
}

// failure turns an error of a twilio-go call into what Sender promises: a
// *SendError when Twilio (or something in front of it) answered, or when
// the request never left; ErrOutcomeUnknown when it left and no answer came.
func (t *Twilio) failure(ctx context.Context, c *call, err error) error {
	c.mu.Lock()
	wrote, status, retryAfter, body := c.wrote, c.status, c.retryAfter, c.errBody
	c.mu.Unlock()
	var code int
	var rest *client.TwilioRestError
	switch {
	case errors.As(err, &rest):
		code = rest.Code
		if rest.Status != 0 {
			status = rest.Status
		}
	case status >= 400: // an answer twilio-go could not decode, e.g. a proxy's HTML page
		err = fmt.Errorf("%w (body %q)", err, truncate(body, 200))
	case status >= 300 && status <= 399:
		// twilio-go passes a redirect on as a success and fails to decode
		// it; Twilio never redirects an API call, so something in between
		// does, and did not forward the request.
		return &SendError{Code: "http_" + strconv.Itoa(status),
			Err: fmt.Errorf("the API URL redirects (HTTP %d); check -twilio-api-url: %w", status, err)}
	case status == 0 && !wrote:
		// Nothing reached Twilio: refused connection, DNS failure,
		// cancelled before sending. Safe to send again.
		return &SendError{Code: "not_sent", Err: err}
	default:
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
	}
	permanent, unknown := classify(code, status)
	if unknown {
		return fmt.Errorf("%w: HTTP %d: %w", ErrOutcomeUnknown, status, err)
	}
	se := &SendError{Code: strconv.Itoa(code), Permanent: permanent, Err: err}
	if code == 0 {
		se.Code = "http_" + strconv.Itoa(status)
	}
	if !permanent {
		se.RetryAfter = parseRetryAfter(retryAfter, time.Now())
	}
	if accountCodes[code] {
		t.log.LogAttrs(ctx, slog.LevelError, "Twilio refused the account's settings; check the -twilio-* flags",
			slog.Int("code", code), slog.Any("err", err))
	}
	return se
}

// Twilio error codes that say something about the recipient, the message,
// or the account, and so decide whether sending again can help.
var (
	// permanentCodes: sending this message to this number again fails the
	// same way.
	permanentCodes = map[int]bool{
		21211: true, // invalid 'To' number
		21408: true, // permission to send to this region not enabled
		21602: true, // body required
		21604: true, // 'To' required
		21610: true, // recipient unsubscribed (replied STOP)
		21612: true, // cannot route to this number
		21614: true, // 'To' is not a mobile number
		21617: true, // body over 1,600 characters
		30003: true, // (delivery) unreachable handset
		30004: true, // (delivery) message blocked
		30005: true, // (delivery) unknown handset
		30006: true, // (delivery) landline or unreachable carrier
		30007: true, // (delivery) carrier filtering
		30008: true, // (delivery) unknown error
	}
	// temporaryCodes: sending again later may work.
	temporaryCodes = map[int]bool{
		20429: true, // too many requests
		30001: true, // queue overflow
	}
	// accountCodes are about our account or sender, not the recipient:
	// every message fails until the operator fixes the settings, and then
	// each one should still go out, so they are temporary (and logged).
	accountCodes = map[int]bool{
		20003: true, // authentication failed
		20005: true, // account not active
		21212: true, // invalid 'From' number
		21606: true, // 'From' is not a number of this account able to send SMS
		21659: true, // 'From' is not a Twilio number
		30002: true, // account suspended
	}
)

// classify decides whether a refusal with this Twilio code and HTTP status
// is permanent, and whether it is no refusal at all but an unknown outcome.
// Code first, then status: 429, 408 and 5xx are temporary; 504 (a gateway
// that gave up waiting for Twilio) is unknown, since Twilio may have
// accepted the message; any other 4xx is permanent.
func classify(code, status int) (permanent, unknown bool) {
	switch {
	case permanentCodes[code]:
		return true, false
	case temporaryCodes[code], accountCodes[code]:
		return false, false
	case status == http.StatusGatewayTimeout:
		return false, true
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return false, false
	case status >= 400:
		return true, false
	}
	return false, true
}

// TwilioPermanent tells whether a Twilio error code, such as the ErrorCode
// of a status callback, means that sending again to the same number will
// fail the same way.
func TwilioPermanent(code int) bool { return permanentCodes[code] }

// maxRetryAfter caps a Retry-After hint: an alert must not wait an hour
// because a proxy said so.
const maxRetryAfter = 10 * time.Minute

// parseRetryAfter reads Retry-After as seconds or an HTTP date; zero when
// absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		d = time.Duration(n) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

func segmentsOf(numSegments *string, body string) int {
	if n, err := strconv.Atoi(deref(numSegments)); err == nil && n > 0 {
		return n
	}
	// A messaging service reports 0 until it has picked a sender.
	n, _ := Segments(body)
	return n
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(string(b), "")
}

// call is the state of one API call (a create, or a list with its pages).
//
// How twilio-go is pointed at APIURL: its services hard-code
// https://api.twilio.com in an unexported field, and SetEdge/SetRegion only
// rename the host within twilio.com, so the base URL cannot be set. What it
// does let a caller supply is the BaseClient (ClientParams.Client,
// NewApiServiceWithClient), the object every request goes through. Ours,
// rebasedClient, moves each request to APIURL and hands it to twilio-go's
// own client.Client, which adds Basic auth and the user agent, sends it,
// and turns a status outside 200-399 into an error. That client.Client gets
// an http.Client of ours whose RoundTripper is the call itself: twilio-go
// builds requests on context.Background(), so the call attaches the
// caller's ctx, notes whether the request was written and what status and
// Retry-After came back, and reads and closes error bodies (twilio-go
// decodes them but never closes them).
//
// The service is built per call because the ctx is per call; it is the
// same service twilio.NewRestClientWithParams exposes as RestClient.Api,
// without building the sixty other services of the RestClient each time.
type call struct {
	ctx     context.Context
	cancel  context.CancelFunc
	base    http.RoundTripper
	timeout time.Duration // per request
	api     *twapi.ApiService

	mu         sync.Mutex // guards the following fields
	wrote      bool       // a request was written out in full
	status     int        // the last answer's HTTP status
	retryAfter string     // the last answer's Retry-After
	errBody    []byte     // the last error answer's body
}

func (t *Twilio) newCall(ctx context.Context) *call {
	ctx, cancel := context.WithCancel(ctx)
	c := &call{ctx: ctx, cancel: cancel, base: t.transport, timeout: t.cfg.Timeout}
	tc := &client.Client{
		Credentials: client.NewCredentials(t.cfg.AccountSID, t.cfg.AuthToken),
		HTTPClient: &http.Client{
			// The timeout is applied per request in call.RoundTrip, not
			// with http.Client.Timeout: that one's timer is stopped only
			// when the body is read to EOF or closed, and twilio-go never
			// closes an error body.
			Transport: c,
			// As twilio-go's default client: never follow redirects.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		UserAgentExtensions: []string{"longyou-hub"},
	}
	tc.SetAccountSid(t.cfg.AccountSID)
	c.api = twapi.NewApiServiceWithClient(&rebasedClient{Client: tc, base: t.base})
	// TWILIO_EDGE / TWILIO_REGION are read from the environment by
	// twilio-go; APIURL is our one setting for where requests go.
	c.api.RequestHandler().Edge, c.api.RequestHandler().Region = "", ""
	return c
}

func (c *call) done() { c.cancel() }

func (c *call) lastStatus() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// maxErrBody bounds how much of an error answer is read.
const maxErrBody = 64 << 10

// RoundTrip sends one request of the call.
func (c *call) RoundTrip(req *http.Request) (*http.Response, error) {
	// context.AfterFunc below runs in its own goroutine: a caller whose ctx
	// is already done must not race it and send anyway.
	if err := c.ctx.Err(); err != nil {
		return nil, err
	}
	// twilio-go sends every request with context.Background(): bound it
	// by the timeout and the caller's ctx. Whatever twilio-go leaves open
	// is released when the call ends.
	ctx, cancel := context.WithTimeout(req.Context(), c.timeout)
	stop := context.AfterFunc(c.ctx, cancel)
	release := func() { stop(); cancel() }
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			c.mu.Lock()
			c.wrote = true
			c.mu.Unlock()
		}
	}}
	resp, err := c.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(ctx, trace)))
	if err != nil {
		release()
		return nil, err
	}
	c.mu.Lock()
	c.status, c.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	c.mu.Unlock()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		resp.Body = &releaseBody{ReadCloser: resp.Body, release: release} // twilio-go closes it
		return resp, nil
	}
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
	resp.Body.Close()
	release()
	if rerr != nil {
		return nil, rerr
	}
	c.mu.Lock()
	c.errBody = b
	c.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// releaseBody frees the request's context once the body is closed.
type releaseBody struct {
	io.ReadCloser
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// rebasedClient is the twilio-go BaseClient that sends every request to
// APIURL instead of https://api.twilio.com (see call).
type rebasedClient struct {
	*client.Client
	base *url.URL
}

// SendRequest moves rawURL to the base URL and sends it with twilio-go.
func (r *rebasedClient) SendRequest(method, rawURL string, data url.Values,
	headers map[string]interface{}, body ...byte) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host, u.Path = r.base.Scheme, r.base.Host, r.base.Path+u.Path
	if u.RawPath != "" {
		u.RawPath = r.base.EscapedPath() + u.RawPath
	}
	return r.Client.SendRequest(method, u.String(), data, headers, body...)
}
