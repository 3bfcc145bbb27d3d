package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	twapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// TwilioVoice places calls through Twilio's Calls API (twilio-go
// Api.CreateCall with inline TwiML) with the credentials and client of a
// Twilio sender.
type TwilioVoice struct {
	t         *Twilio
	from      string
	statusURL string
}

var (
	_ Sender     = (*TwilioVoice)(nil)
	_ Reconciler = (*TwilioVoice)(nil)
)

// Voice returns the caller of t's account: calls from from (E.164; ""
// means the SMS sender number), their status posted to statusURL (the
// hub's public URL + VoiceStatusPath; "" means none).
func (t *Twilio) Voice(from, statusURL string) (*TwilioVoice, error) {
	if from == "" {
		from = t.cfg.From
	}
	if !ValidE164(from) {
		return nil, fmt.Errorf("twilio: calls need an E.164 caller number (TWILIO_VOICE_FROM or TWILIO_FROM), got %q", from)
	}
	return &TwilioVoice{t: t, from: from, statusURL: statusURL}, nil
}

// Send places the call whose TwiML is m.Body. Its errors are those of
// Twilio.Send: a *SendError for a refusal, ErrOutcomeUnknown when the
// answer did not come back.
func (v *TwilioVoice) Send(ctx context.Context, m Message) (res Result, err error) {
	defer errd.Wrap(&err, "twilio call")
	if !ValidE164(m.To) {
		return Result{}, &SendError{Code: "21211", Permanent: true, Err: fmt.Errorf("%q is not an E.164 number", m.To)}
	}
	c := v.t.newCall(ctx)
	defer c.done()
	p := (&twapi.CreateCallParams{}).SetTo(m.To).SetFrom(v.from).SetTwiml(m.Body).SetTimeout(30)
	if v.statusURL != "" {
		p.SetStatusCallback(v.statusURL)
		p.SetStatusCallbackEvent([]string{"initiated", "ringing", "answered", "completed"})
	}
	call, err := c.api.CreateCall(p)
	if err != nil {
		return Result{}, v.t.failure(ctx, c, err)
	}
	if st := c.lastStatus(); st < 200 || st > 299 {
		return Result{}, &SendError{Code: "http_" + strconv.Itoa(st),
			Err: fmt.Errorf("the API URL redirects (HTTP %d); check -twilio-api-url", st)}
	}
	if call.Sid == nil || *call.Sid == "" {
		return Result{}, fmt.Errorf("%w: Twilio answered without a call SID", ErrOutcomeUnknown)
	}
	res = Result{ProviderID: *call.Sid, Status: deref(call.Status)}
	v.t.log.LogAttrs(ctx, slog.LevelDebug, "twilio accepted call", slog.String("key", m.Key),
		slog.String("sid", res.ProviderID), slog.String("status", res.Status))
	return res, nil
}

// Lookup finds an outgoing call to m.To created at or after since (the
// earliest): first among those started since (StartTime>), then among the
// latest ones, which includes calls not started yet (queued: no
// start_time). A call has no text to tell it apart, so a call to the same
// number for another alert in the window would be taken for this one; the
// dispatcher sends one call at a time per node and looks up right after
// a restart, before it places any other.
func (v *TwilioVoice) Lookup(ctx context.Context, m Message, since time.Time) (res Result, found bool, err error) {
	defer errd.Wrap(&err, "twilio call lookup")
	if m.To == "" {
		return Result{}, false, errors.New("no number to look up")
	}
	since = since.UTC().Truncate(time.Second)
	started := (&twapi.ListCallParams{}).SetTo(m.To).SetStartTimeAfter(since).SetPageSize(lookupPage).SetLimit(4 * lookupPage)
	recent := (&twapi.ListCallParams{}).SetTo(m.To).SetPageSize(lookupPage).SetLimit(lookupPage)
	for _, p := range []*twapi.ListCallParams{started, recent} {
		c := v.t.newCall(ctx)
		calls, err := c.api.ListCall(p)
		if err != nil {
			err = v.t.failure(ctx, c, err)
			c.done()
			return Result{}, false, err
		}
		c.done()
		if r, ok := pickCall(calls, since); ok {
			return r, true, nil
		}
	}
	return Result{}, false, nil
}

func pickCall(calls []twapi.ApiV2010Call, since time.Time) (Result, bool) {
	var best *twapi.ApiV2010Call
	var bestAt time.Time
	for i := range calls {
		x := &calls[i]
		if d := deref(x.Direction); d != "" && !strings.HasPrefix(d, "outbound") {
			continue
		}
		at, err := time.Parse(time.RFC1123Z, deref(x.DateCreated))
		if err != nil || at.Before(since) || deref(x.Sid) == "" {
			continue
		}
		if best == nil || at.Before(bestAt) {
			best, bestAt = x, at
		}
	}
	if best == nil {
		return Result{}, false
	}
	return Result{ProviderID: *best.Sid, Status: deref(best.Status)}, true
}

// VerifyWebhook reads a Twilio webhook's form (at most 64 KiB) and checks
// its X-Twilio-Signature for publicURL + path (+ the request's query). It
// returns the form's fields, or a *RequestError: bad_request for an
// unreadable body, forbidden for a missing or wrong signature.
func (t *Twilio) VerifyWebhook(w http.ResponseWriter, r *http.Request, publicURL, path string) (map[string]string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, &RequestError{Status: http.StatusBadRequest, Code: "bad_request", Message: "invalid form body"}
	}
	params := make(map[string]string, len(r.PostForm))
	for k, vs := range r.PostForm {
		params[k] = vs[0]
	}
	url := strings.TrimRight(publicURL, "/") + path
	if r.URL.RawQuery != "" {
		url += "?" + r.URL.RawQuery
	}
	if !t.ValidateCallback(url, params, r.Header.Get("X-Twilio-Signature")) {
		return nil, &RequestError{Status: http.StatusForbidden, Code: "forbidden", Message: "invalid X-Twilio-Signature"}
	}
	return params, nil
}

// VoiceStatusHandler is the handler of POST VoiceStatusPath: a call's
// status (CallSid, CallStatus), signature-checked like StatusHandler,
// handed to the sink on the voice channel (204).
func (t *Twilio) VoiceStatusHandler(cfg StatusHandlerConfig) http.Handler {
	return t.statusHandler(cfg, statusKind{path: VoiceStatusPath, channel: storage.ChannelVoice,
		sid: "CallSid", status: "CallStatus", state: TwilioCallState})
}

// From is the sender number of t's SMS ("" with a messaging service).
func (t *Twilio) From() string { return t.cfg.From }

// From is the caller number of v's calls.
func (v *TwilioVoice) From() string { return v.from }
