package api

import (
	"net/http"

	"github.com/longyou/hub/service"
)

// handleSetTownship gives a cadre or commander a township scope, or clears
// it (docs/API.md v1.6): PUT /api/v1/members/{id}/township
// {"township": "..."}.
func (a *API) handleSetTownship(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActSetTownship, Scope{}) {
		return service.ErrForbidden
	}
	var req struct {
		Township *string `json:"township"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Township == nil {
		return service.Invalid("township is required (\"\" clears it)")
	}
	if err := service.CheckText("township", *req.Township, 100, true); err != nil {
		return err
	}
	m, err := a.members.SetTownship(r.Context(), r.PathValue("id"), *req.Township)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"member": memberView(&m)})
	return nil
}
