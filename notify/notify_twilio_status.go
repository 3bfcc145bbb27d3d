package notify

import (
	"context"
	"net/http"
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
	return t.statusHandler(cfg, statusKind{path: TwilioStatusPath, channel: storage.ChannelSMS,
		sid: "MessageSid", status: "MessageStatus", state: TwilioSMSState})
}

// statusKind is what differs between the status callbacks of messages and
// of calls: where they come, the outbox channel, the form fields of the
// provider's id and status word, and what the word means.
type statusKind struct {
	path, channel, sid, status string
	state                      func(status string) string
}

// statusHandler checks a status callback's signature (VerifyWebhook) and
// hands the status to the sink on the kind's channel (204).
func (t *Twilio) statusHandler(cfg StatusHandlerConfig, k statusKind) http.Handler {
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		params, err := t.VerifyWebhook(w, r, cfg.PublicURL, k.path)
		if err != nil {
			if re, ok := err.(*RequestError); ok && re.Code == "forbidden" && cfg.Refused != nil {
				cfg.Refused()
			}
			fail(w, r, err)
			return
		}
		sid, status := params[k.sid], params[k.status]
		if sid == "" || status == "" {
			fail(w, r, &RequestError{Status: http.StatusBadRequest, Code: "bad_request",
				Message: k.sid + " and " + k.status + " are required"})
			return
		}
		u := storage.StatusUpdate{State: k.state(status), Status: status, ErrorCode: params["ErrorCode"],
			At: cfg.Clock().UTC()}
		if err := cfg.Sink.ApplyStatus(r.Context(), k.channel, sid, u); err != nil {
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
