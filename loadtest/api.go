package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// apiClient speaks the hub's HTTP API (docs/API.md) with an admin or commander
// token. Every call has a timeout, closes its body and checks its status.
type apiClient struct {
	base  string // http://host:port
	token string
	hc    *http.Client
}

func newAPIClient(base, token string) *apiClient {
	return &apiClient{base: strings.TrimRight(base, "/"), token: token, hc: &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
	}}
}

func (a *apiClient) close() { a.hc.CloseIdleConnections() }

// apiError is an answer other than the one expected.
type apiError struct {
	Method, Path string
	Status       int
	Code         string // docs/API.md error code, when the body had one
	Message      string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
}

// kind names the error for the error counts.
func (e *apiError) kind() string {
	route := e.Path
	if i := strings.IndexByte(route, '?'); i >= 0 {
		route = route[:i]
	}
	parts := strings.Split(strings.TrimPrefix(route, "/api/v1/"), "/")
	if len(parts) > 1 {
		parts[1] = "{id}"
	}
	return fmt.Sprintf("api_%s_%s_%d", strings.ToLower(e.Method), strings.Join(parts, "/"), e.Status)
}

// do sends in (when not nil) as JSON and decodes the answer into out when
// the status is want.
func (a *apiClient) do(ctx context.Context, method, path string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		e := &apiError{Method: method, Path: path, Status: resp.StatusCode}
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
		} else {
			e.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// get fetches a path without a token (health, metrics).
func (a *apiClient) getPlain(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &apiError{Method: "GET", Path: path, Status: resp.StatusCode, Message: strings.TrimSpace(string(data[:min(len(data), 200)]))}
	}
	return data, nil
}

type latLng struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

type village struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Center latLng `json:"center"`
}

func (a *apiClient) createVillage(ctx context.Context, name, township string, center latLng) (village, error) {
	var out struct {
		Village village `json:"village"`
	}
	err := a.do(ctx, "POST", "/api/v1/villages", map[string]any{"name": name, "township": township, "center": center}, &out, http.StatusCreated)
	return out.Village, err
}

type newMemberReq struct {
	Name      string  `json:"name"`
	Phone     string  `json:"phone"`
	Role      string  `json:"role"`
	VillageID string  `json:"village_id"`
	Home      *latLng `json:"home"`
}

func (a *apiClient) createMember(ctx context.Context, m *newMemberReq) (id, token string, err error) {
	var out struct {
		Member struct {
			ID string `json:"id"`
		} `json:"member"`
		Token string `json:"token"`
	}
	if err := a.do(ctx, "POST", "/api/v1/members", m, &out, http.StatusCreated); err != nil {
		return "", "", err
	}
	if out.Member.ID == "" || out.Token == "" {
		return "", "", fmt.Errorf("POST /api/v1/members: answer without member id or token")
	}
	return out.Member.ID, out.Token, nil
}

// alertReq is the body of POST /api/v1/alerts and /alerts/preview.
type alertReq struct {
	Kind     string         `json:"kind"`
	Severity string         `json:"severity"`
	Title    string         `json:"title"`
	Body     string         `json:"body"`
	Area     map[string]any `json:"area"`
}

func circleArea(c latLng, radius float64) map[string]any {
	return map[string]any{"circle": map[string]any{"lat": c.Lat, "lng": c.Lng, "radius_m": radius}}
}

func (a *apiClient) preview(ctx context.Context, req *alertReq) (targeted, connected int, err error) {
	var out struct {
		Targeted  int `json:"targeted"`
		Connected int `json:"connected"`
	}
	err = a.do(ctx, "POST", "/api/v1/alerts/preview", req, &out, http.StatusOK)
	return out.Targeted, out.Connected, err
}

type sentAlert struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Targeted  int       `json:"-"`
	Connected int       `json:"-"`
}

func (a *apiClient) sendAlert(ctx context.Context, req *alertReq) (sentAlert, error) {
	var out struct {
		Alert     sentAlert `json:"alert"`
		Targeted  int       `json:"targeted"`
		Connected int       `json:"connected"`
	}
	if err := a.do(ctx, "POST", "/api/v1/alerts", req, &out, http.StatusCreated); err != nil {
		return sentAlert{}, err
	}
	out.Alert.Targeted, out.Alert.Connected = out.Targeted, out.Connected
	return out.Alert, nil
}

func (a *apiClient) cancelAlert(ctx context.Context, id string) error {
	err := a.do(ctx, "POST", "/api/v1/alerts/"+url.PathEscape(id)+"/cancel", nil, nil, http.StatusOK)
	if ae, ok := err.(*apiError); ok && ae.Status == http.StatusConflict {
		return nil // no longer active
	}
	return err
}

// recipients lists the member ids the alert is addressed to.
func (a *apiClient) recipients(ctx context.Context, id string) ([]string, error) {
	var out struct {
		Recipients []struct {
			MemberID string `json:"member_id"`
		} `json:"recipients"`
	}
	if err := a.do(ctx, "GET", "/api/v1/alerts/"+url.PathEscape(id)+"/recipients", nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	ids := make([]string, len(out.Recipients))
	for i, r := range out.Recipients {
		ids[i] = r.MemberID
	}
	return ids, nil
}

type alertProgress struct {
	Targeted  int            `json:"targeted"`
	Delivered int            `json:"delivered"`
	Acked     map[string]int `json:"acked"`
}

func (a *apiClient) progress(ctx context.Context, id string) (alertProgress, error) {
	var out struct {
		Progress alertProgress `json:"progress"`
	}
	err := a.do(ctx, "GET", "/api/v1/alerts/"+url.PathEscape(id), nil, &out, http.StatusOK)
	return out.Progress, err
}

type sentBulletin struct {
	ID          string    `json:"id"`
	PublishedAt time.Time `json:"published_at"`
}

func (a *apiClient) sendBulletin(ctx context.Context, villageID, title, body string) (sentBulletin, error) {
	var out struct {
		Bulletin sentBulletin `json:"bulletin"`
	}
	err := a.do(ctx, "POST", "/api/v1/bulletins", map[string]any{
		"village_id": villageID, "category": "notice", "title": title, "body": body,
	}, &out, http.StatusCreated)
	return out.Bulletin, err
}

// activeAlerts counts the alerts active before the run: their recipients
// get them again on every connect.
func (a *apiClient) activeAlerts(ctx context.Context) (int, error) {
	var out struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	err := a.do(ctx, "GET", "/api/v1/alerts?status=active", nil, &out, http.StatusOK)
	return len(out.Alerts), err
}
