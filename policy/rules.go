package policy

import (
	"math"
	"slices"
)

// ValidCategory reports whether c is a bulletin category.
func (p Policy) ValidCategory(c string) bool {
	return slices.Contains(p.Bulletins.Categories, c)
}

// ValidAlertKind reports whether k is an alert kind.
func (p Policy) ValidAlertKind(k string) bool {
	return slices.Contains(p.Alerts.Kinds, k)
}

// SeverityRank is the rank of an alert severity (4 extreme ... 1 minor in
// Default), used to order alerts and as their SMS priority; 0 for an
// unknown severity, as the lookup it replaces gave.
func (p Policy) SeverityRank(severity string) int {
	for _, s := range p.Alerts.Severities {
		if s.Name == severity {
			return s.Rank
		}
	}
	return 0
}

// ValidSeverity reports whether s is an alert severity.
func (p Policy) ValidSeverity(s string) bool { return p.SeverityRank(s) > 0 }

// Limit is the rate limit of action per member, in the terms of
// golang.org/x/time/rate: rate.NewLimiter(rate.Limit(perSecond), burst).
// An action without a limit gives (math.MaxFloat64, 0), which is rate.Inf:
// that package allows every event then, so a caller needs no special case.
func (p Policy) Limit(action string) (perSecond float64, burst int) {
	r, ok := p.Limits[action]
	if !ok || r.Every <= 0 {
		return math.MaxFloat64, 0
	}
	// As rate.Every computes it, so the figures equal the hub's before.
	return 1 / r.Every.D().Seconds(), r.Burst
}

// LimitFor is Limit for a member of role: the role's override of the
// action's rate when it has one.
func (p Policy) LimitFor(action, role string) (perSecond float64, burst int) {
	if r, ok := p.RoleLimits[role][action]; ok && r.Every > 0 {
		return 1 / r.Every.D().Seconds(), r.Burst
	}
	return p.Limit(action)
}
