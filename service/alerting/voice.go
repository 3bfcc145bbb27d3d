package alerting

import (
	"context"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Voice calls (issue 12, docs/API.md v1.5): a member with a phone who has
// not answered voice_after_s seconds after its SMS was due is called. The
// call is an outbox row written with the alert (storage.Target.VoiceDueAt)
// and cancelled, like the SMS, when the member answers or the alert ends.

// VoiceOff is the voice_after_s that asks for no call (an extreme alert
// otherwise gets the policy's default).
const VoiceOff = -1

// validateVoice checks voice_after_s: VoiceOff, or 0 up to the policy's
// maximum, and only with SMS fallback (a call follows the SMS).
func (d *Draft) validateVoice(pol *policy.Policy) error {
	v := d.VoiceAfterS
	if v == nil || *v == VoiceOff {
		return nil
	}
	maxVoice := int(pol.Alerts.VoiceMax() / time.Second)
	if *v < 0 || *v > maxVoice {
		return service.Invalid("voice_after_s must be between 0 and %d, or -1 for no call", maxVoice)
	}
	if d.SMSFallbackAfterS == nil {
		return service.Invalid("voice_after_s needs sms_fallback_after_s: a call follows the SMS")
	}
	return nil
}

// voiceAfter is the voice_after_s the alert is stored with: the draft's,
// or for an extreme alert with SMS fallback the policy's default; nil
// for no call.
func (d *Draft) voiceAfter(pol *policy.Policy) *int {
	switch {
	case d.VoiceAfterS != nil && *d.VoiceAfterS == VoiceOff:
		return nil
	case d.VoiceAfterS != nil:
		v := *d.VoiceAfterS
		return &v
	case d.Severity == "extreme" && d.SMSFallbackAfterS != nil && pol.Alerts.VoiceExtreme > 0:
		v := int(pol.Alerts.VoiceExtreme.D() / time.Second)
		return &v
	}
	return nil
}

// VoiceAfter is the voice_after_s a draft would be sent with (the
// preview shows it); nil for no call.
func (s *Service) VoiceAfter(d *Draft) *int { return d.voiceAfter(s.pol.Now()) }

// voiceDue is when a target whose SMS is due at smsDue is called: never
// without an SMS or without voice_after_s.
func voiceDue(a *storage.Alert, smsDue time.Time) time.Time {
	if a.VoiceAfterS == nil || smsDue.IsZero() {
		return time.Time{}
	}
	return smsDue.Add(time.Duration(*a.VoiceAfterS) * time.Second)
}

// hasVoice tells whether the alert makes calls (an active one is read
// from the cache); on a store error it says yes, and the caller's own
// read reports the error.
func (s *Service) hasVoice(ctx context.Context, alertID string) bool {
	a, ok := s.alerts.get(alertID)
	if !ok {
		var err error
		if a, err = s.store.GetAlert(ctx, alertID); err != nil {
			return true
		}
	}
	return a.VoiceAfterS != nil
}

// voiceStates fills the recipients' VoiceState.
func (s *Service) voiceStates(ctx context.Context, alertID string, rs []storage.Recipient) error {
	if len(rs) == 0 || !s.hasVoice(ctx, alertID) {
		return nil
	}
	states, err := s.store.ChannelStates(ctx, alertID, storage.ChannelVoice)
	if err != nil {
		return err
	}
	for i := range rs {
		rs[i].VoiceState = states[rs[i].MemberID]
	}
	return nil
}
