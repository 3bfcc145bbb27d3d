package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/longyou/hub/api"
	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/service/invites"
	"github.com/longyou/hub/service/letters"
	"github.com/longyou/hub/storage"
)

// webhookPath is where Twilio posts message status callbacks.
const webhookPath = notify.TwilioStatusPath

// outbox joins notify's dispatcher (the outbox of every channel: SMS now)
// to alerting: it is what alerting.SMS asks for (Wake), and the
// dispatcher's outcomes push the alert's progress. The all-clear after a
// cancel is queued by the store's CancelAlert itself, in the cancel's
// transaction (storage.Store.CancelAlert).
type outbox struct {
	d        *notify.Dispatcher
	alerting *alerting.Service // set once alerting exists
	invites  *invites.Service  // set once it exists: invitation and login code SMS
	letters  *letters.Service  // set once it exists: a letter's reminder SMS (v1.6)
	// reports is set once it exists: report reminder SMS (v1.6).
	reports interface {
		SMSText(ctx context.Context, row *storage.Message, publicURL string) (string, error)
	}
	publicURL string
}

var _ alerting.SMS = (*outbox)(nil)

// outboxStore is what the outbox asks of the store: the dispatcher's
// notify.Store, and the rows of an alert (tests read them).
type outboxStore interface {
	notify.Store
	ListMessages(ctx context.Context, ref storage.Ref) ([]storage.Message, error)
}

// newOutbox builds the dispatcher; with rb (a cluster) the SMS rate is
// the whole cluster's, kept in Redis.
func newOutbox(cfg *Config, m *metrics.Metrics, rb *hub.RedisBroker, links *invites.Links) (*outbox, error) {
	o := &outbox{}
	answerCode := func(a *storage.Alert, memberID string) string { return links.AnswerCode(a.Seq, memberID) }
	sms := notify.ChannelConfig{Channel: notify.NewSMS(cfg.Sender, cfg.PublicURL, notify.WithAnswerLinks(answerCode)), Rate: cfg.SMSRate}
	var early notify.EarlyStore // nil: this node's memory
	if rb != nil {
		sms.Limiter = notify.NewRedisLimiter(rb.Client(), rb.Prefix()+"sms-rate:"+storage.ChannelSMS, cfg.SMSRate, rb.LiveNodes)
		early = notify.NewRedisEarly(rb.Client(), rb.Prefix())
	}
	voice := notify.ChannelConfig{Channel: notify.NewVoice(cfg.Voice, cfg.PublicURL), Rate: cfg.VoiceRate}
	if rb != nil {
		voice.Limiter = notify.NewRedisLimiter(rb.Client(), rb.Prefix()+"sms-rate:"+storage.ChannelVoice, cfg.VoiceRate, rb.LiveNodes)
	}
	d, err := notify.NewDispatcher(notify.DispatcherConfig{
		Store:    cfg.Store,
		Channels: []notify.ChannelConfig{sms, voice},
		Early:    early,
		NodeID:   cfg.NodeID,
		Clock:    cfg.Clock,
		Logger:   cfg.Logger,
		Changed:  o.changed,
		Subjects: o.subject,
		Counted: func(channel, outcome string) {
			if channel == storage.ChannelSMS { // the metric counts SMS; calls are in the progress
				m.SMS.WithLabelValues(outcome).Inc()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	o.d = d
	return o, nil
}

// subject is what an invitation's or a login code's SMS says.
func (o *outbox) subject(ctx context.Context, row *storage.Message) (*notify.Item, error) {
	if row.Ref.Type == storage.RefLetter && o.letters != nil {
		return o.letters.Subject(ctx, row)
	}
	if row.Ref.Type == storage.RefReport {
		if o.reports == nil {
			return nil, errors.New("the report service is not ready")
		}
		text, err := o.reports.SMSText(ctx, row, o.publicURL)
		if err != nil {
			return nil, err
		}
		return &notify.Item{Text: text}, nil
	}
	if o.invites == nil {
		return nil, errors.New("the invitation service is not ready")
	}
	return o.invites.Subject(ctx, row)
}

// Wake asks the dispatcher to look for due messages now.
func (o *outbox) Wake() { o.d.Wake() }

// changed pushes the progress of the alert a message is about; a status
// callback does not say which alert, so every active one's.
func (o *outbox) changed(ref storage.Ref) {
	if o.alerting == nil {
		return
	}
	switch {
	case ref.Type == storage.RefAlert:
		o.alerting.ProgressChanged(ref.ID)
	case ref == storage.Ref{}:
		o.alerting.ActiveProgressChanged()
	}
}

// webhook is the handler of POST webhookPath: the Sender's status callback
// handler (Twilio's checks the signature against the public URL), or 404
// when the Sender posts no callbacks.
func (o *outbox) webhook(cfg *Config, a *api.API, m *metrics.Metrics) http.Handler {
	sr, ok := cfg.Sender.(notify.StatusReporter)
	if !ok {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.WriteError(r.Context(), w, service.Errorf(service.CodeNotFound, "no SMS provider with status callbacks is configured"))
		})
	}
	return sr.StatusHandler(notify.StatusHandlerConfig{
		PublicURL: cfg.PublicURL,
		Sink:      o.d,
		Clock:     cfg.Clock,
		Error: func(w http.ResponseWriter, r *http.Request, err error) {
			var re *notify.RequestError
			if errors.As(err, &re) {
				err = service.Errorf(re.Code, "%s", re.Message)
			}
			a.WriteError(r.Context(), w, err)
		},
		Refused: func() { m.Drops.WithLabelValues("webhook_bad_signature").Inc() },
	})
}
