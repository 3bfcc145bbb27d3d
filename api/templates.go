package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/storage"
)

// Alert templates (issue 14, docs/API.md v1.6): the command center starts
// an alert from one. The built-in ones (builtinTemplates) are in the code;
// the county edits them by storing its own copy under the same id
// (deleting the copy brings the built-in back) and adds its own.

// TemplateStore is the templates' store (storage.Templates).
type TemplateStore interface {
	ListTemplates(ctx context.Context) ([]storage.Template, error)
	GetTemplate(ctx context.Context, id string) (storage.Template, error)
	PutTemplate(ctx context.Context, t storage.Template) error
	DeleteTemplate(ctx context.Context, id string) error
}

// Template is a template on the wire.
type Template struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Kind        string         `json:"kind"`
	Severity    string         `json:"severity"`
	Title       string         `json:"title"`
	Body        string         `json:"body"`
	ExpiryHours int            `json:"expiry_hours"`
	Roles       []storage.Role `json:"roles,omitempty"` // absent: every role
	// Builtin: the id is a built-in template's; Edited: the county changed
	// it (its copy is what is shown).
	Builtin   bool       `json:"builtin"`
	Edited    bool       `json:"edited"`
	UpdatedBy string     `json:"updated_by,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// builtinTemplates are the defaults every county starts with.
var builtinTemplates = []storage.Template{
	{ID: "flood", Name: "山洪 / 洪水", Kind: "warning", Severity: "severe", ExpiryHours: 12,
		Title: "山洪预警：请立即向高处转移",
		Body:  "受持续强降雨影响，本区域河道水位快速上涨，可能发生山洪。请沿河、低洼地带群众立即向高处转移，远离河道、桥梁和涵洞，不要涉水过河。听从村干部和巡查员指挥。"},
	{ID: "landslide", Name: "地质灾害（滑坡、泥石流）", Kind: "warning", Severity: "severe", ExpiryHours: 24,
		Title: "地质灾害预警：滑坡泥石流风险高",
		Body:  "本区域降雨量大，发生滑坡、泥石流的风险很高。请山脚、陡坡下和沟口的住户立即撤离到安置点，途中避开沟谷和陡坡，发现山体开裂、异响、泉水变浑立即报告。"},
	{ID: "freeze", Name: "低温冰冻", Kind: "warning", Severity: "moderate", ExpiryHours: 48,
		Title: "低温冰冻预警：注意防寒防冻",
		Body:  "未来两天将出现低温雨雪冰冻天气。请做好人员防寒保暖和水管防冻，减少出行，山区道路结冰请勿驾车；照看好独居老人，取暖注意通风，防止一氧化碳中毒。"},
	{ID: "fire", Name: "森林火险", Kind: "mobilization", Severity: "severe", ExpiryHours: 6,
		Title: "森林火情：请扑火队员立即集结",
		Body:  "辖区发生森林火情。请扑火队员和巡查员立即到指定地点集结，听从指挥；附近群众不要上山、不要围观，做好随时撤离准备。严禁一切野外用火。"},
	{ID: "typhoon", Name: "台风", Kind: "warning", Severity: "extreme", ExpiryHours: 24,
		Title: "台风预警：请立即避险",
		Body:  "台风即将影响本县，将带来狂风暴雨。请危旧房屋、临时工棚住户立即转移到安置点，加固门窗，收好室外物品，不要外出；山区注意防范山洪和地质灾害。"},
}

func builtin(id string) (storage.Template, bool) {
	i := slices.IndexFunc(builtinTemplates, func(t storage.Template) bool { return t.ID == id })
	if i < 0 {
		return storage.Template{}, false
	}
	return builtinTemplates[i], true
}

func templateView(t *storage.Template, edited bool) Template {
	_, isBuiltin := builtin(t.ID)
	out := Template{ID: t.ID, Name: t.Name, Kind: t.Kind, Severity: t.Severity, Title: t.Title, Body: t.Body,
		ExpiryHours: t.ExpiryHours, Roles: t.Roles, Builtin: isBuiltin, Edited: edited, UpdatedBy: t.UpdatedBy}
	if !t.UpdatedAt.IsZero() {
		at := t.UpdatedAt
		out.UpdatedAt = &at
	}
	return out
}

func (a *API) registerTemplates(api func(pattern string, fn apiHandler)) {
	if a.templates == nil {
		return
	}
	api("GET /api/v1/templates", a.handleListTemplates)
	api("GET /api/v1/templates/{id}", a.handleGetTemplate)
	api("POST /api/v1/templates", a.handleCreateTemplate)
	api("PUT /api/v1/templates/{id}", a.handlePutTemplate)
	api("DELETE /api/v1/templates/{id}", a.handleDeleteTemplate)
}

// templates is every template: the built-ins (or the county's copies) in
// their order, then the county's own by id.
func (a *API) allTemplates(ctx context.Context) ([]Template, error) {
	stored, err := a.templates.ListTemplates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Template, 0, len(builtinTemplates)+len(stored))
	for i := range builtinTemplates {
		b := &builtinTemplates[i]
		if j := slices.IndexFunc(stored, func(t storage.Template) bool { return t.ID == b.ID }); j >= 0 {
			out = append(out, templateView(&stored[j], true))
		} else {
			out = append(out, templateView(b, false))
		}
	}
	for i := range stored {
		if _, ok := builtin(stored[i].ID); !ok {
			out = append(out, templateView(&stored[i], false))
		}
	}
	return out, nil
}

func (a *API) template(ctx context.Context, id string) (Template, error) {
	t, err := a.templates.GetTemplate(ctx, id)
	if err == nil {
		_, isBuiltin := builtin(id)
		return templateView(&t, isBuiltin), nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return Template{}, err
	}
	if b, ok := builtin(id); ok {
		return templateView(&b, false), nil
	}
	return Template{}, service.Errorf(service.CodeNotFound, "no template %s", id)
}

func (a *API) handleListTemplates(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReadTemplates, Scope{}) {
		return service.ErrForbidden
	}
	out, err := a.allTemplates(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": out})
	return nil
}

func (a *API) handleGetTemplate(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReadTemplates, Scope{}) {
		return service.ErrForbidden
	}
	t, err := a.template(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"template": t})
	return nil
}

// templateRequest is the body of POST and PUT.
type templateRequest struct {
	Name        string         `json:"name"`
	Kind        string         `json:"kind"`
	Severity    string         `json:"severity"`
	Title       string         `json:"title"`
	Body        string         `json:"body"`
	ExpiryHours int            `json:"expiry_hours"`
	Roles       []storage.Role `json:"roles"`
}

// checkTemplate checks a template as an alert would be checked (kind,
// severity, title, body, roles) and its own fields.
func (a *API) checkTemplate(req *templateRequest) error {
	if err := service.CheckText("name", req.Name, 100, false); err != nil {
		return err
	}
	if req.ExpiryHours < 1 || req.ExpiryHours > 7*24 {
		return service.Invalid("expiry_hours must be from 1 to 168")
	}
	// Any valid area: the template has none, the alert gets the drawn one.
	d := alerting.Draft{Kind: req.Kind, Severity: req.Severity, Title: req.Title, Body: req.Body, Roles: req.Roles,
		Area: &geo.Area{Circle: &geo.Circle{Lat: 30, Lng: 120, RadiusM: 1000}}}
	return a.alerting.Validate(&d)
}

func (a *API) decodeTemplate(r *http.Request, p *Principal, id string) (storage.Template, error) {
	var req templateRequest
	if err := decodeJSON(r, &req); err != nil {
		return storage.Template{}, err
	}
	if err := a.checkTemplate(&req); err != nil {
		return storage.Template{}, err
	}
	return storage.Template{ID: id, Name: req.Name, Kind: req.Kind, Severity: req.Severity, Title: req.Title,
		Body: req.Body, ExpiryHours: req.ExpiryHours, Roles: req.Roles, UpdatedBy: p.ID,
		UpdatedAt: a.node.Now().UTC()}, nil
}

func (a *API) handleCreateTemplate(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActManageTemplates, Scope{}) {
		return service.ErrForbidden
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	t, err := a.decodeTemplate(r, p, "t-"+hex.EncodeToString(b[:]))
	if err != nil {
		return err
	}
	if err := a.templates.PutTemplate(r.Context(), t); err != nil {
		return err
	}
	out := templateView(&t, false)
	noteChange(r.Context(), nil, out)
	writeJSON(w, http.StatusCreated, map[string]any{"template": out})
	return nil
}

// handlePutTemplate changes a template: a built-in one gets the county's
// copy, the county's own one is replaced; an unknown id is 404 (POST
// makes new ones, so a typo does not add one).
func (a *API) handlePutTemplate(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActManageTemplates, Scope{}) {
		return service.ErrForbidden
	}
	before, err := a.template(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	t, err := a.decodeTemplate(r, p, before.ID)
	if err != nil {
		return err
	}
	if err := a.templates.PutTemplate(r.Context(), t); err != nil {
		return err
	}
	out := templateView(&t, before.Builtin)
	noteChange(r.Context(), before, out)
	writeJSON(w, http.StatusOK, map[string]any{"template": out})
	return nil
}

// handleDeleteTemplate removes the county's template, or its copy of a
// built-in one (which is then shown again as built); a built-in one
// never changed cannot be removed (409).
func (a *API) handleDeleteTemplate(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActManageTemplates, Scope{}) {
		return service.ErrForbidden
	}
	before, err := a.template(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if before.Builtin && !before.Edited {
		return service.Errorf(service.CodeConflict, "a built-in template cannot be removed; change it instead")
	}
	if err := a.templates.DeleteTemplate(r.Context(), before.ID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return service.Errorf(service.CodeNotFound, "no template %s", before.ID)
		}
		return err
	}
	noteChange(r.Context(), before, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
