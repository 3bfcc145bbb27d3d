package hub

import (
	"errors"
	"net/http"
	"strings"

	"github.com/longyou/hub/storage"
)

// callbackValidator is the optional capability of a Sender whose provider
// posts signed delivery-status callbacks (Twilio).
type callbackValidator interface {
	ValidateCallback(url string, params map[string]string, signature string) bool
}

// webhookPath is where Twilio posts message status callbacks.
const webhookPath = "/webhooks/twilio/status"

// handleTwilioStatus applies a message status callback after checking its
// X-Twilio-Signature against the public URL the operator configured: a
// forged or unsigned callback gets 403 and changes nothing.
func (h *Hub) handleTwilioStatus(w http.ResponseWriter, r *http.Request) {
	v, ok := h.cfg.Sender.(callbackValidator)
	if !ok {
		h.writeError(r.Context(), w, apiErr(CodeNotFound, "no SMS provider with status callbacks is configured"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.writeError(r.Context(), w, badRequest("invalid form body"))
		return
	}
	params := make(map[string]string, len(r.PostForm))
	for k, vs := range r.PostForm {
		params[k] = vs[0]
	}
	url := strings.TrimRight(h.cfg.PublicURL, "/") + webhookPath
	if r.URL.RawQuery != "" {
		url += "?" + r.URL.RawQuery
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" || !v.ValidateCallback(url, params, sig) {
		h.metrics.drops.WithLabelValues("webhook_bad_signature").Inc()
		h.writeError(r.Context(), w, apiErr(CodeForbidden, "invalid X-Twilio-Signature"))
		return
	}
	sid, status := params["MessageSid"], params["MessageStatus"]
	if sid == "" || status == "" {
		h.writeError(r.Context(), w, badRequest("MessageSid and MessageStatus are required"))
		return
	}
	err := h.store.UpdateSMSStatus(r.Context(), sid, status, params["ErrorCode"], h.now())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		// Not ours (or already gone): answer 200 so Twilio stops retrying.
		h.log.WarnContext(r.Context(), "status callback for an unknown message", "sid", sid)
	case err != nil:
		h.writeError(r.Context(), w, err) // 5xx: Twilio retries later
		return
	default:
		for _, a := range h.alerts.list(h.now()) {
			h.progress.touch(a.alert.ID)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
