package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// The rules in force (docs/API.md v1.6, GET/PUT /api/v1/policy). The
// configured policy (Config.Policy, policy.Default without one) is made
// live; a policy stored with PUT (setting "policy") replaces it at start
// and whenever it changes: the node that took the PUT at once, the other
// nodes of a cluster within policyPoll.

// policySetting is the name of the stored policy.
const policySetting = "policy"

// policyPoll is how often a node reads the stored policy for a change
// made through another node.
const policyPoll = 10 * time.Second

// policyKeeper keeps the live policy and its stored form.
type policyKeeper struct {
	pol   *policy.Policy
	store storage.Settings
	log   *slog.Logger

	mu   sync.Mutex // serializes Put and reload
	last []byte     // the stored form last applied
}

// load applies the stored policy, if there is one and it differs from
// the one applied last. A stored policy that no longer validates (written
// by a newer version, say) is logged and left unapplied.
func (k *policyKeeper) load(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	data, err := k.store.Setting(ctx, policySetting)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if string(data) == string(k.last) {
		return nil
	}
	p, err := policy.Decode(data)
	if err != nil {
		k.log.Error("the stored policy is not valid: keeping the rules in force", "err", err)
		k.last = data
		return nil
	}
	k.pol.Replace(p)
	k.last = data
	k.log.Info("policy applied from the store")
	return nil
}

// watch reloads the stored policy every policyPoll until ctx ends.
func (k *policyKeeper) watch(ctx context.Context) {
	t := time.NewTicker(policyPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.load(ctx); err != nil && ctx.Err() == nil {
				k.log.Warn("read the stored policy", "err", err)
			}
		}
	}
}

// Current returns the rules in force.
func (k *policyKeeper) Current() *policy.Policy { return k.pol.Now() }

// Put validates, stores and applies a policy (as its JSON).
func (k *policyKeeper) Put(ctx context.Context, data []byte) (*policy.Policy, error) {
	p, err := policy.Decode(data)
	if err != nil {
		return nil, service.Invalid("%s", err.Error())
	}
	canon, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode policy: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.store.PutSetting(ctx, policySetting, canon); err != nil {
		return nil, err
	}
	k.pol.Replace(p)
	k.last = canon
	return k.pol.Now(), nil
}
