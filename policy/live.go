package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
)

// Rules that change while the hub runs (docs/API.md v1.6, PUT
// /api/v1/policy). Services keep the *Policy they were given and read the
// rules in force through it with Now. The server makes that pointer live
// (MakeLive) before any service reads it, then Replace swaps the whole
// rule set at once: a reader sees the old or the new rules, never a mix,
// and a Policy value is never written while someone reads it.

// live holds the rules in force of a live Policy.
type live = atomic.Pointer[Policy]

// MakeLive makes p replaceable. Call it once, before p is shared.
func MakeLive(p *Policy) {
	if p.live != nil {
		return
	}
	cur := *p // the rules as they are now, kept apart from p
	cur.live = nil
	p.live = new(live)
	p.live.Store(&cur)
}

// Now returns the rules in force: the latest Replace of a live Policy, or
// p itself.
func (p *Policy) Now() *Policy {
	if p.live != nil {
		return p.live.Load()
	}
	return p
}

// Replace puts n in force (it must have passed Validate). p must be live.
func (p *Policy) Replace(n Policy) {
	n.live = nil
	p.live.Store(&n)
}

// Live reports whether p was made live.
func (p *Policy) Live() bool { return p.live != nil }

// Decode reads a whole policy from its JSON (unknown fields refused, so a
// misspelt rule is an error rather than a rule silently left at zero) and
// validates it.
func Decode(data []byte) (Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	if dec.More() {
		return Policy{}, errors.New("policy: one JSON object expected")
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}
