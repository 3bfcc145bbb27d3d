package hub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/storage"
)

const (
	smsBatch      = 50
	maxSMSSegs    = 2               // an alert SMS fits in two segments
	smsInDoubtAge = 2 * time.Minute // a claim older than this without an outcome is in doubt
	// smsMaxAllClearTries bounds retries of all-clear SMS (about 2 hours
	// with the backoff cap). Alert SMS are retried for as long as the
	// alert is active: a rural network outage must not turn into "failed,
	// no SMS"; the outbox cancels them once the alert ends.
	smsMaxAllClearTries = 20
)

// smsDispatcher sends the SMS outbox: it claims due rows (highest severity
// first), sends each through the Sender at the configured rate, and
// records the outcome. Nothing lives only in memory: a restart resumes the
// queue, and rows left claimed by a crash are reconciled before resending.
type smsDispatcher struct {
	h       *Hub
	wakeCh  chan struct{}
	limiter *rate.Limiter
}

func newSMSDispatcher(h *Hub) *smsDispatcher {
	return &smsDispatcher{
		h:       h,
		wakeCh:  make(chan struct{}, 1),
		limiter: rate.NewLimiter(rate.Limit(h.cfg.SMSRate), 1),
	}
}

// wake asks the dispatcher to look for due rows now.
func (d *smsDispatcher) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

func (d *smsDispatcher) run(ctx context.Context) {
	// Rows this node claimed before it stopped are in doubt at once.
	d.reconcile(ctx, d.h.cfg.NodeID, d.h.now())
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSweep := d.h.now()
	for {
		for d.sendDue(ctx) > 0 && ctx.Err() == nil {
		}
		if now := d.h.now(); now.Sub(lastSweep) > smsInDoubtAge/2 {
			d.reconcile(ctx, "", now.Add(-smsInDoubtAge))
			lastSweep = now
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wakeCh:
		case <-tick.C:
		}
	}
}

// sendDue claims and sends one batch; it returns how many it claimed.
func (d *smsDispatcher) sendDue(ctx context.Context) int {
	rows, err := d.h.store.ClaimDueMessages(ctx, storage.ChannelSMS, d.h.now(), smsBatch, d.h.cfg.NodeID)
	if err != nil {
		if ctx.Err() == nil {
			d.h.log.Error("claim due SMS", "err", err)
		}
		return 0
	}
	alerts := map[string]*storage.Alert{}
	for i := range rows {
		d.send(ctx, &rows[i], alerts)
	}
	return len(rows)
}

func (d *smsDispatcher) send(ctx context.Context, row *storage.Message, alerts map[string]*storage.Alert) {
	a := alerts[row.Ref.ID]
	if a == nil {
		got, err := d.h.store.GetAlert(ctx, row.Ref.ID)
		if err != nil {
			d.h.log.Error("SMS for unknown alert", "alert", row.Ref.ID, "err", err)
			return
		}
		a = &got
		alerts[row.Ref.ID] = a
	}
	if row.Phone == "" {
		d.complete(ctx, row, storage.MessageResult{State: storage.MessageFailed, ErrorCode: "no_phone", At: d.h.now()})
		return
	}
	// Wait for the rate, but never past shutdown: an unsent claimed row
	// is put back as pending.
	if err := d.limiter.Wait(ctx); err != nil {
		d.complete(context.Background(), row, storage.MessageResult{State: storage.MessagePending, RetryAt: d.h.now(), At: d.h.now()})
		return
	}
	msg := notify.Message{Key: smsKey(row), To: row.Phone, Body: smsText(a, row, d.h.cfg.PublicURL)}
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	res, err := d.h.cfg.Sender.Send(sctx, msg)
	cancel()
	now := d.h.now()
	var se *notify.SendError
	switch {
	case err == nil:
		d.h.metrics.sms.WithLabelValues("sent").Inc()
		d.complete(ctx, row, storage.MessageResult{State: storage.MessageSent, ProviderID: res.ProviderID,
			Status: res.Status, Segments: res.Segments, At: now})
	case errors.As(err, &se) && (se.Permanent || (row.Kind == storage.MessageAllClear && row.Attempts >= smsMaxAllClearTries)):
		d.h.metrics.sms.WithLabelValues("failed").Inc()
		d.complete(ctx, row, storage.MessageResult{State: storage.MessageFailed, ErrorCode: se.Code, Status: "failed", At: now})
	case errors.As(err, &se):
		d.h.metrics.sms.WithLabelValues("retry").Inc()
		d.complete(ctx, row, storage.MessageResult{State: storage.MessagePending, ErrorCode: se.Code,
			RetryAt: now.Add(backoff(row.Attempts, se.RetryAfter)), At: now})
	default:
		// Unknown outcome (timeout, connection lost): the provider may
		// have accepted it. The row stays claimed, in doubt, until the
		// reconcile sweep asks the provider; resending blindly could send
		// it twice.
		d.h.metrics.sms.WithLabelValues("in_doubt").Inc()
		d.h.log.Warn("SMS outcome unknown, will reconcile", "key", msg.Key, "err", err)
	}
}

func (d *smsDispatcher) complete(ctx context.Context, row *storage.Message, res storage.MessageResult) {
	if err := d.h.store.CompleteMessage(ctx, row.Key(), res); err != nil {
		d.h.log.Error("record SMS outcome", "key", smsKey(row), "err", err)
		return
	}
	if res.ProviderID != "" {
		for _, st := range d.h.early.take(res.ProviderID) {
			if err := d.h.store.UpdateMessageStatus(ctx, storage.ChannelSMS, res.ProviderID, storage.StatusUpdate{State: smsStateOf(st.status), Status: st.status, ErrorCode: st.code, At: st.at}); err != nil {
				d.h.log.Error("apply early status callback", "sid", res.ProviderID, "err", err)
			}
		}
	}
	d.h.progress.touch(row.Ref.ID)
}

// reconcile resolves rows left claimed (in doubt) by claimer ("" anyone)
// before the given time: found at the provider, they are recorded as sent;
// not found, they are queued again. Without a provider that can look up,
// they are queued again (the log sender has nothing to duplicate).
func (d *smsDispatcher) reconcile(ctx context.Context, claimer string, before time.Time) {
	rows, err := d.h.store.ClaimedMessages(ctx, storage.ChannelSMS, claimer, before)
	if err != nil {
		if ctx.Err() == nil {
			d.h.log.Error("list in-doubt SMS", "err", err)
		}
		return
	}
	rec, canLookup := d.h.cfg.Sender.(notify.Reconciler)
	alerts := map[string]*storage.Alert{}
	for i := range rows {
		row := &rows[i]
		now := d.h.now()
		if canLookup {
			if row.Phone == "" || row.Lang == "" {
				if m, err := d.h.store.GetMember(ctx, row.MemberID); err == nil {
					row.Phone, row.Lang = m.Phone, m.Lang
				}
			}
			a := alerts[row.Ref.ID]
			if a == nil {
				got, err := d.h.store.GetAlert(ctx, row.Ref.ID)
				if err != nil {
					d.h.log.Warn("SMS reconcile: alert lookup failed; will retry", "key", smsKey(row), "err", err)
					continue
				}
				a = &got
				alerts[row.Ref.ID] = a
			}
			// The body tells this row's SMS apart from another SMS to the
			// same phone in the window (the alert SMS vs the all-clear).
			msg := notify.Message{Key: smsKey(row), To: row.Phone, Body: smsText(a, row, d.h.cfg.PublicURL)}
			res, found, err := rec.Lookup(ctx, msg, row.ClaimedAt.Add(-time.Minute))
			if err != nil {
				d.h.log.Warn("SMS reconcile lookup failed; will retry", "key", smsKey(row), "err", err)
				continue
			}
			if found {
				d.complete(ctx, row, storage.MessageResult{State: storage.MessageSent, ProviderID: res.ProviderID,
					Status: res.Status, Segments: res.Segments, At: now})
				continue
			}
		}
		d.complete(ctx, row, storage.MessageResult{State: storage.MessagePending, RetryAt: now, At: now})
	}
	if len(rows) > 0 {
		d.h.log.Info("reconciled in-doubt SMS", "count", len(rows))
		d.wake()
	}
}

func backoff(attempts int, hint time.Duration) time.Duration {
	if hint > 0 {
		return hint
	}
	d := time.Second << min(attempts, 9)              // 1 s .. ~8.5 min
	return d/2 + time.Duration(rand.Int64N(int64(d))) // jitter: 0.5x..1.5x
}

func smsKey(row *storage.Message) string { return row.Key().String() }

var (
	severityZH = map[string]string{"extreme": "特别严重", "severe": "严重", "moderate": "较重", "minor": "一般"}
	kindZH     = map[string]string{"warning": "预警", "mobilization": "动员", "all_clear": "解除"}
)

// smsText is the SMS of an alert: Chinese unless the member chose English,
// title and instruction first, and the link to the member page, in at most
// two segments (the instruction is shortened, never the link).
func smsText(a *storage.Alert, row *storage.Message, publicURL string) string {
	link := strings.TrimRight(publicURL, "/") + "/m"
	en := row.Lang == "en"
	var head, tail string
	switch {
	case row.Kind == storage.MessageAllClear && en:
		head, tail = fmt.Sprintf("[Emergency] ALL CLEAR: %s is lifted.", a.Title), " "+link
	case row.Kind == storage.MessageAllClear:
		head, tail = fmt.Sprintf("【应急】解除：%s 已解除。", a.Title), " "+link
	case en:
		head, tail = fmt.Sprintf("[Emergency %s %s] %s: ", strings.ToUpper(a.Severity), a.Kind, a.Title), " Reply: "+link
	default:
		head, tail = fmt.Sprintf("【应急%s%s】%s：", severityZH[a.Severity], kindZH[a.Kind], a.Title), " 回复："+link
	}
	if row.Kind == storage.MessageAllClear {
		return fitSMS("", head, tail)
	}
	return fitSMS(head, a.Body, tail)
}

// fitSMS is prefix + the longest start of text (with an ellipsis when cut)
// + suffix that fits in maxSMSSegs segments.
func fitSMS(prefix, text, suffix string) string {
	fits := func(s string) bool { n, _ := notify.Segments(s); return n <= maxSMSSegs }
	if fits(prefix + text + suffix) {
		return prefix + text + suffix
	}
	runes := []rune(text)
	lo, hi := 0, len(runes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(prefix + string(runes[:mid]) + "…" + suffix) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 && !fits(prefix+"…"+suffix) {
		return notify.Truncate(prefix+text+suffix, maxSMSSegs)
	}
	return prefix + string(runes[:lo]) + "…" + suffix
}

// queueAllClear queues the all-clear SMS for members who were sent the
// alert's SMS, after a cancel.
func (h *Hub) queueAllClear(ctx context.Context, a *storage.Alert, now time.Time) error {
	rows, err := h.store.ListMessages(ctx, storage.AlertRef(a.ID))
	if err != nil {
		return err
	}
	var out []storage.Message
	for _, r := range rows {
		if r.Channel == storage.ChannelSMS && r.Kind == storage.MessageAlert && (r.State == storage.MessageSent || r.State == storage.MessageDelivered) {
			out = append(out, storage.Message{Channel: storage.ChannelSMS, Ref: storage.AlertRef(a.ID), MemberID: r.MemberID, Kind: storage.MessageAllClear,
				State: storage.MessagePending, Priority: severities[a.Severity], DueAt: now})
		}
	}
	if len(out) == 0 {
		return nil
	}
	if err := h.store.EnqueueMessages(ctx, out); err != nil {
		return err
	}
	h.sms.wake()
	return nil
}

// smsStateOf maps a Twilio message status word to the state it means.
func smsStateOf(status string) string {
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
