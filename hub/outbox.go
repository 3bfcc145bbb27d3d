package hub

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/storage"
)

// webhookPath is where Twilio posts message status callbacks.
const webhookPath = notify.TwilioStatusPath

// newDispatcher is the notify dispatcher of the hub's outbox: the SMS
// channel through cfg.Sender at cfg.SMSRate. Its outcomes push the alert's
// progress and count in hub_sms_total.
func newDispatcher(h *Hub) (*notify.Dispatcher, error) {
	return notify.NewDispatcher(notify.DispatcherConfig{
		Store: h.store,
		Channels: []notify.ChannelConfig{
			{Channel: notify.NewSMS(h.cfg.Sender, h.cfg.PublicURL), Rate: h.cfg.SMSRate},
		},
		NodeID:  h.cfg.NodeID,
		Clock:   h.cfg.Clock,
		Logger:  h.log,
		Changed: h.outboxChanged,
		Counted: func(_, outcome string) { h.metrics.sms.WithLabelValues(outcome).Inc() },
	})
}

// outboxChanged pushes the progress of the alert a message is about; a
// status callback does not say which alert, so every active one's.
func (h *Hub) outboxChanged(ref storage.Ref) {
	switch {
	case ref.Type == storage.RefAlert:
		h.progress.touch(ref.ID)
	case ref == storage.Ref{}:
		for _, a := range h.alerts.list(h.now()) {
			h.progress.touch(a.alert.ID)
		}
	}
}

// newWebhook is the handler of POST webhookPath: the Sender's status
// callback handler (Twilio's checks the signature against the public URL),
// or 404 when the Sender posts no callbacks.
func newWebhook(h *Hub) http.Handler {
	sr, ok := h.cfg.Sender.(notify.StatusReporter)
	if !ok {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.writeError(r.Context(), w, apiErr(CodeNotFound, "no SMS provider with status callbacks is configured"))
		})
	}
	return sr.StatusHandler(notify.StatusHandlerConfig{
		PublicURL: h.cfg.PublicURL,
		Sink:      h.sms,
		Clock:     h.cfg.Clock,
		Error: func(w http.ResponseWriter, r *http.Request, err error) {
			var re *notify.RequestError
			if errors.As(err, &re) {
				err = apiErr(re.Code, "%s", re.Message)
			}
			h.writeError(r.Context(), w, err)
		},
		Refused: func() { h.metrics.drops.WithLabelValues("webhook_bad_signature").Inc() },
	})
}

func (h *Hub) handleTwilioStatus(w http.ResponseWriter, r *http.Request) { h.webhook.ServeHTTP(w, r) }

// queueAllClear queues the all-clear SMS for members who were sent the
// alert's SMS, after a cancel.
func (h *Hub) queueAllClear(ctx context.Context, a *storage.Alert, now time.Time) error {
	rows, err := h.store.ListMessages(ctx, storage.AlertRef(a.ID))
	if err != nil {
		return err
	}
	var out []storage.Message
	for _, r := range rows {
		if r.Channel == storage.ChannelSMS && r.Kind == storage.MessageAlert &&
			(r.State == storage.MessageSent || r.State == storage.MessageDelivered) {
			out = append(out, storage.Message{Channel: storage.ChannelSMS, Ref: storage.AlertRef(a.ID),
				MemberID: r.MemberID, Kind: storage.MessageAllClear, State: storage.MessagePending,
				Priority: severities[a.Severity], DueAt: now})
		}
	}
	if len(out) == 0 {
		return nil
	}
	if err := h.store.EnqueueMessages(ctx, out); err != nil {
		return err
	}
	h.sms.Wake()
	return nil
}
