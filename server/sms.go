package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/service/alerting"
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
//
// It moved here from package hub as it was; the notify package takes it
// over (a generic outbox). Its links to the rest are few: alerting calls
// Wake and QueueAllClear (alerting.SMS), and it tells alerting when an
// alert's SMS progress changed (progress).
type smsDispatcher struct {
	store    smsStore
	cfg      smsConfig
	now      func() time.Time
	log      *slog.Logger
	metrics  *metrics.Metrics
	progress smsProgress
	early    earlyStatuses
	// writeError renders an error of the status webhook (api.WriteError).
	writeError func(ctx context.Context, w http.ResponseWriter, err error)
	wakeCh     chan struct{}
	limiter    *rate.Limiter
}

// smsConfig is the dispatcher's part of the Config.
type smsConfig struct {
	Sender    notify.Sender
	PublicURL string
	NodeID    string
	SMSRate   float64
}

// smsStore is what the dispatcher reads and writes.
type smsStore interface {
	GetAlert(ctx context.Context, id string) (storage.Alert, error)
	GetMember(ctx context.Context, id string) (storage.Member, error)
	EnqueueSMS(ctx context.Context, rows []storage.SMS) error
	ClaimDueSMS(ctx context.Context, now time.Time, limit int, claimer string) ([]storage.SMS, error)
	CompleteSMS(ctx context.Context, alertID, memberID, kind string, res storage.SMSResult) error
	ClaimedSMS(ctx context.Context, claimer string, before time.Time) ([]storage.SMS, error)
	UpdateSMSStatus(ctx context.Context, providerID, status, errorCode string, at time.Time) error
	ListSMS(ctx context.Context, alertID string) ([]storage.SMS, error)
}

// smsProgress is told when an alert's SMS progress changed (alerting).
type smsProgress interface {
	ProgressChanged(alertID string)
	ActiveProgressChanged()
}

var _ alerting.SMS = (*smsDispatcher)(nil)

func newSMSDispatcher(store smsStore, cfg smsConfig, now func() time.Time, log *slog.Logger, m *metrics.Metrics) *smsDispatcher {
	return &smsDispatcher{
		store:   store,
		cfg:     cfg,
		now:     now,
		log:     log,
		metrics: m,
		wakeCh:  make(chan struct{}, 1),
		limiter: rate.NewLimiter(rate.Limit(cfg.SMSRate), 1),
	}
}

// Wake asks the dispatcher to look for due rows now.
func (d *smsDispatcher) Wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

func (d *smsDispatcher) run(ctx context.Context) {
	// Rows this node claimed before it stopped are in doubt at once.
	d.reconcile(ctx, d.cfg.NodeID, d.now())
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSweep := d.now()
	for {
		for d.sendDue(ctx) > 0 && ctx.Err() == nil {
		}
		if now := d.now(); now.Sub(lastSweep) > smsInDoubtAge/2 {
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
	rows, err := d.store.ClaimDueSMS(ctx, d.now(), smsBatch, d.cfg.NodeID)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("claim due SMS", "err", err)
		}
		return 0
	}
	alerts := map[string]*storage.Alert{}
	for i := range rows {
		d.send(ctx, &rows[i], alerts)
	}
	return len(rows)
}

func (d *smsDispatcher) send(ctx context.Context, row *storage.SMS, alerts map[string]*storage.Alert) {
	a := alerts[row.AlertID]
	if a == nil {
		got, err := d.store.GetAlert(ctx, row.AlertID)
		if err != nil {
			d.log.Error("SMS for unknown alert", "alert", row.AlertID, "err", err)
			return
		}
		a = &got
		alerts[row.AlertID] = a
	}
	if row.Phone == "" {
		d.complete(ctx, row, storage.SMSResult{State: storage.SMSFailed, ErrorCode: "no_phone", At: d.now()})
		return
	}
	// Wait for the rate, but never past shutdown: an unsent claimed row
	// is put back as pending.
	if err := d.limiter.Wait(ctx); err != nil {
		d.complete(context.Background(), row, storage.SMSResult{State: storage.SMSPending, RetryAt: d.now(), At: d.now()})
		return
	}
	msg := notify.Message{Key: smsKey(row), To: row.Phone, Body: smsText(a, row, d.cfg.PublicURL)}
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	res, err := d.cfg.Sender.Send(sctx, msg)
	cancel()
	now := d.now()
	var se *notify.SendError
	switch {
	case err == nil:
		d.metrics.SMS.WithLabelValues("sent").Inc()
		d.complete(ctx, row, storage.SMSResult{State: storage.SMSSent, ProviderID: res.ProviderID,
			Status: res.Status, Segments: res.Segments, At: now})
	case errors.As(err, &se) && (se.Permanent || (row.Kind == storage.SMSAllClear && row.Attempts >= smsMaxAllClearTries)):
		d.metrics.SMS.WithLabelValues("failed").Inc()
		d.complete(ctx, row, storage.SMSResult{State: storage.SMSFailed, ErrorCode: se.Code, Status: "failed", At: now})
	case errors.As(err, &se):
		d.metrics.SMS.WithLabelValues("retry").Inc()
		d.complete(ctx, row, storage.SMSResult{State: storage.SMSPending, ErrorCode: se.Code,
			RetryAt: now.Add(backoff(row.Attempts, se.RetryAfter)), At: now})
	default:
		// Unknown outcome (timeout, connection lost): the provider may
		// have accepted it. The row stays claimed, in doubt, until the
		// reconcile sweep asks the provider; resending blindly could send
		// it twice.
		d.metrics.SMS.WithLabelValues("in_doubt").Inc()
		d.log.Warn("SMS outcome unknown, will reconcile", "key", msg.Key, "err", err)
	}
}

func (d *smsDispatcher) complete(ctx context.Context, row *storage.SMS, res storage.SMSResult) {
	if err := d.store.CompleteSMS(ctx, row.AlertID, row.MemberID, row.Kind, res); err != nil {
		d.log.Error("record SMS outcome", "key", smsKey(row), "err", err)
		return
	}
	if res.ProviderID != "" {
		for _, st := range d.early.take(res.ProviderID) {
			if err := d.store.UpdateSMSStatus(ctx, res.ProviderID, st.status, st.code, st.at); err != nil {
				d.log.Error("apply early status callback", "sid", res.ProviderID, "err", err)
			}
		}
	}
	d.progress.ProgressChanged(row.AlertID)
}

// reconcile resolves rows left claimed (in doubt) by claimer ("" anyone)
// before the given time: found at the provider, they are recorded as sent;
// not found, they are queued again. Without a provider that can look up,
// they are queued again (the log sender has nothing to duplicate).
func (d *smsDispatcher) reconcile(ctx context.Context, claimer string, before time.Time) {
	rows, err := d.store.ClaimedSMS(ctx, claimer, before)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("list in-doubt SMS", "err", err)
		}
		return
	}
	rec, canLookup := d.cfg.Sender.(notify.Reconciler)
	alerts := map[string]*storage.Alert{}
	for i := range rows {
		row := &rows[i]
		now := d.now()
		if canLookup {
			if row.Phone == "" || row.Lang == "" {
				if m, err := d.store.GetMember(ctx, row.MemberID); err == nil {
					row.Phone, row.Lang = m.Phone, m.Lang
				}
			}
			a := alerts[row.AlertID]
			if a == nil {
				got, err := d.store.GetAlert(ctx, row.AlertID)
				if err != nil {
					d.log.Warn("SMS reconcile: alert lookup failed; will retry", "key", smsKey(row), "err", err)
					continue
				}
				a = &got
				alerts[row.AlertID] = a
			}
			// The body tells this row's SMS apart from another SMS to the
			// same phone in the window (the alert SMS vs the all-clear).
			msg := notify.Message{Key: smsKey(row), To: row.Phone, Body: smsText(a, row, d.cfg.PublicURL)}
			res, found, err := rec.Lookup(ctx, msg, row.ClaimedAt.Add(-time.Minute))
			if err != nil {
				d.log.Warn("SMS reconcile lookup failed; will retry", "key", smsKey(row), "err", err)
				continue
			}
			if found {
				d.complete(ctx, row, storage.SMSResult{State: storage.SMSSent, ProviderID: res.ProviderID,
					Status: res.Status, Segments: res.Segments, At: now})
				continue
			}
		}
		d.complete(ctx, row, storage.SMSResult{State: storage.SMSPending, RetryAt: now, At: now})
	}
	if len(rows) > 0 {
		d.log.Info("reconciled in-doubt SMS", "count", len(rows))
		d.Wake()
	}
}

func backoff(attempts int, hint time.Duration) time.Duration {
	if hint > 0 {
		return hint
	}
	d := time.Second << min(attempts, 9)              // 1 s .. ~8.5 min
	return d/2 + time.Duration(rand.Int64N(int64(d))) // jitter: 0.5x..1.5x
}

func smsKey(row *storage.SMS) string { return row.AlertID + "/" + row.MemberID + "/" + row.Kind }

var (
	severityZH = map[string]string{"extreme": "特别严重", "severe": "严重", "moderate": "较重", "minor": "一般"}
	kindZH     = map[string]string{"warning": "预警", "mobilization": "动员", "all_clear": "解除"}
)

// smsText is the SMS of an alert: Chinese unless the member chose English,
// title and instruction first, and the link to the member page, in at most
// two segments (the instruction is shortened, never the link).
func smsText(a *storage.Alert, row *storage.SMS, publicURL string) string {
	link := strings.TrimRight(publicURL, "/") + "/m"
	en := row.Lang == "en"
	var head, tail string
	switch {
	case row.Kind == storage.SMSAllClear && en:
		head, tail = fmt.Sprintf("[Emergency] ALL CLEAR: %s is lifted.", a.Title), " "+link
	case row.Kind == storage.SMSAllClear:
		head, tail = fmt.Sprintf("【应急】解除：%s 已解除。", a.Title), " "+link
	case en:
		head, tail = fmt.Sprintf("[Emergency %s %s] %s: ", strings.ToUpper(a.Severity), a.Kind, a.Title), " Reply: "+link
	default:
		head, tail = fmt.Sprintf("【应急%s%s】%s：", severityZH[a.Severity], kindZH[a.Kind], a.Title), " 回复："+link
	}
	if row.Kind == storage.SMSAllClear {
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

// QueueAllClear queues the all-clear SMS for members who were sent the
// alert's SMS, after a cancel.
func (d *smsDispatcher) QueueAllClear(ctx context.Context, a *storage.Alert, now time.Time) error {
	rows, err := d.store.ListSMS(ctx, a.ID)
	if err != nil {
		return err
	}
	var out []storage.SMS
	for _, r := range rows {
		if r.Kind == storage.SMSAlert && (r.State == storage.SMSSent || r.State == storage.SMSDelivered) {
			out = append(out, storage.SMS{AlertID: a.ID, MemberID: r.MemberID, Kind: storage.SMSAllClear,
				State: storage.SMSPending, Priority: alerting.SeverityRank(a.Severity), DueAt: now})
		}
	}
	if len(out) == 0 {
		return nil
	}
	if err := d.store.EnqueueSMS(ctx, out); err != nil {
		return err
	}
	d.Wake()
	return nil
}
