package api

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
)

// The rules in force as data (docs/API.md v1.6): GET /api/v1/policy for
// admins and commanders, PUT for admins (the whole policy, validated;
// applied at once on this node, within seconds on the others).

// PolicyKeeper keeps the live policy and its stored form (server).
type PolicyKeeper interface {
	Current() *policy.Policy
	Put(ctx context.Context, data []byte) (*policy.Policy, error)
}

// maxPolicyBytes bounds a PUT policy.
const maxPolicyBytes = 1 << 20

func (a *API) registerPolicy(api func(pattern string, fn apiHandler)) {
	if a.policy == nil {
		return
	}
	api("GET /api/v1/policy", a.handleGetPolicy)
	api("PUT /api/v1/policy", a.handlePutPolicy)
}

func (a *API) handleGetPolicy(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReadPolicy, Scope{}) {
		return service.ErrForbidden
	}
	writeJSON(w, http.StatusOK, map[string]any{"policy": a.policy.Current()})
	return nil
}

func (a *API) handlePutPolicy(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActManagePolicy, Scope{}) {
		return service.ErrForbidden
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxPolicyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return service.Errorf(service.CodeTooLarge, "a policy is at most 1 MiB")
		}
		return service.Invalid("could not read the body")
	}
	before := a.policy.Current()
	out, err := a.policy.Put(r.Context(), data)
	if err != nil {
		return err
	}
	noteChange(r.Context(), before, out)
	writeJSON(w, http.StatusOK, map[string]any{"policy": out})
	return nil
}
