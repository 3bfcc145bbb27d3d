package alerting

import (
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
)

// allowSend takes a token of the sender's alert bucket (policy
// ActionAlert, at its role's rate: 10 a minute for a cadre, 60 for the
// command center by default), before the targeting and the store's write.
// A draft that does not validate costs no token: a typo is fixed and sent
// again at once. Issue 13: one cadre sent 40 alerts in 0.7 s.
func (s *Service) allowSend(d *Draft, by service.Actor) error {
	if err := d.validate(s.pol.Now(), s.now()); err != nil {
		return err
	}
	wait, ok := s.limits.AllowRole(by.ID, by.Role, policy.ActionAlert)
	if ok {
		return nil
	}
	perSecond, burst := s.pol.Now().LimitFor(policy.ActionAlert, string(by.Role))
	every := time.Duration(float64(time.Second) / perSecond).Round(time.Second)
	return service.Errorf(service.CodeRateLimited,
		"too many alerts: you may send %d at once, then one every %s; try again in %s",
		burst, every, max(time.Second, wait.Round(time.Second)))
}
