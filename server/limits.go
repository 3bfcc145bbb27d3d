package server

import (
	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/policy"
)

// floodLimits sets the core's flood limits (docs/API.md v1.4): the
// connection caps from cfg, the command rates of a WebSocket from the
// policy (an action the policy does not limit is not limited).
func floodLimits(cfg *Config, hc *hub.Config) {
	hc.MaxConnsPerMember = cfg.MaxConnsPerMember
	hc.MaxConnsPerAddr = cfg.MaxConnsPerAddr
	hc.CommandEvery, hc.CommandBurst = -1, 0
	if r, ok := cfg.Policy.Limits[policy.ActionCommand]; ok {
		hc.CommandEvery, hc.CommandBurst = r.Every.D(), r.Burst
	}
	hc.ResumeEvery, hc.ResumeBurst = -1, 0
	if r, ok := cfg.Policy.Limits[policy.ActionResume]; ok {
		hc.ResumeEvery, hc.ResumeBurst = r.Every.D(), r.Burst
	}
}
