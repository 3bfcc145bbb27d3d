package notify

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/longyou/hub/storage"
)

// TwilioStatusPath is where Twilio posts message status callbacks: the
// hub's public URL + TwilioStatusPath is TwilioConfig.StatusCallbackURL.
const TwilioStatusPath = "/webhooks/twilio/status"

// StatusSink records provider status reports: the Dispatcher.
type StatusSink interface {
	ApplyStatus(ctx context.Context, channel, providerID string, u storage.StatusUpdate) error
}

// StatusReporter is the optional capability of a Sender whose provider
// posts signed status callbacks (Twilio): its handler receives them.
type StatusReporter interface {
	StatusHandler(cfg StatusHandlerConfig) http.Handler
}

var (
	_ StatusReporter = (*Twilio)(nil)
	_ StatusSink     = (*Dispatcher)(nil)
)

// StatusHandlerConfig configures Twilio.StatusHandler.
type StatusHandlerConfig struct {
	// PublicURL is the hub's address as Twilio reaches it: the signature
	// covers PublicURL + TwilioStatusPath (+ the query), exactly.
	PublicURL string
	Sink      StatusSink // required
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Error writes an error answer (the API's error format). err is a
	// *RequestError for a callback the handler refuses, or what the sink
	// returned (a 5xx makes Twilio retry later). Nil writes the status
	// code alone.
	Error func(w http.ResponseWriter, r *http.Request, err error)
	// Refused, when set, is called for each callback refused for its
	// signature (a metric).
	Refused func()
}

// RequestError is a status callback the handler refuses. Code is a
// docs/API.md error code: bad_request (unreadable) or forbidden (signature).
type RequestError struct {
	Status  int
	Code    string
	Message string
}

func (e *RequestError) Error() string { return e.Code + ": " + e.Message }

// StatusHandler is the handler of POST TwilioStatusPath: it checks
// X-Twilio-Signature against the public URL the operator configured (a
// forged or unsigned callback gets 403 and changes nothing) and hands the
// message's status to the sink (204).
func (t *Twilio) StatusHandler(cfg StatusHandlerConfig) http.Handler {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		if cfg.Error != nil {
			cfg.Error(w, r, err)
			return
		}
		code := http.StatusInternalServerError
		if re, ok := err.(*RequestError); ok {
			code = re.Status
		}
		http.Error(w, http.StatusText(code), code)
	}
	base := strings.TrimRight(cfg.PublicURL, "/") + TwilioStatusPath
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			fail(w, r, &RequestError{Status: http.StatusBadRequest, Code: "bad_request", Message: "invalid form body"})
			return
		}
		params := make(map[string]string, len(r.PostForm))
		for k, vs := range r.PostForm {
			params[k] = vs[0]
		}
		url := base
		if r.URL.RawQuery != "" {
			url += "?" + r.URL.RawQuery
		}
		if !t.ValidateCallback(url, params, r.Header.Get("X-Twilio-Signature")) {
			if cfg.Refused != nil {
				cfg.Refused()
			}
			fail(w, r, &RequestError{Status: http.StatusForbidden, Code: "forbidden", Message: "invalid X-Twilio-Signature"})
			return
		}
		sid, status := params["MessageSid"], params["MessageStatus"]
		if sid == "" || status == "" {
			fail(w, r, &RequestError{Status: http.StatusBadRequest, Code: "bad_request",
				Message: "MessageSid and MessageStatus are required"})
			return
		}
		u := storage.StatusUpdate{State: TwilioSMSState(status), Status: status, ErrorCode: params["ErrorCode"],
			At: cfg.Clock().UTC()}
		if err := cfg.Sink.ApplyStatus(r.Context(), storage.ChannelSMS, sid, u); err != nil {
			fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// TwilioSMSState maps a Twilio message status word to the state of the
// outbox row it means; "" for words that change no state (such as
// "scheduled").
func TwilioSMSState(status string) string {
	switch status {
	case "queued", "accepted", "sending", "sent":
		return storage.MessageSent
	case "delivered":
		return storage.MessageDelivered
	case "undelivered", "failed":
		return storage.MessageFailed
	}
	return ""
}
