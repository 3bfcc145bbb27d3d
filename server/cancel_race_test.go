package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/storage"
)

// TestLocateRacingCancel (issue 13, item 3): a patrol walks into an
// alert's area (locate over its WebSocket) while the alert is being
// cancelled, many times. Either the patrol is never addressed by the alert
// (and never gets it), or it gets the alert and then its alert_cancel; no
// delivery row is written after the cancel.
func TestLocateRacingCancel(t *testing.T) {
	t.Parallel()
	const runs = 60
	// 60 alerts in a few seconds: above the commander's alert rate.
	pol := policy.Default()
	pol.RoleLimits["commander"] = map[string]policy.Rate{policy.ActionAlert: {Every: policy.Duration(time.Millisecond), Burst: runs}}
	e := newEnv(t, func(c *Config) { c.Policy = &pol })
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	ctx := context.Background()
	addressed := 0
	for run := range runs {
		code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 1000, map[string]any{"kind": "mobilization"}))
		if code != 201 {
			t.Fatalf("run %d: alert: %d %v", run, code, out)
		}
		alertID := out["alert"].(map[string]any)["id"].(string)
		patrol, tok := e.member(storage.RolePatrol, 0, outside)
		pc := e.dial(tok)
		pc.welcome()

		// Both sides start together; a small delay on one side or the other
		// (up to ~1.5 ms) moves the cancel across the move-in.
		start := make(chan struct{})
		cancelled := make(chan error, 1)
		go func() {
			<-start
			if run%2 == 0 {
				time.Sleep(time.Duration(run%8) * 200 * time.Microsecond)
			}
			cancelled <- postCancel(e.srv.URL, alertID, cmdTok)
		}()
		close(start)
		if run%2 == 1 {
			time.Sleep(time.Duration(run%8) * 200 * time.Microsecond)
		}
		reply, frames := pc.cmd(map[string]any{"type": "locate", "lat": inside.Lat, "lng": inside.Lng})
		if reply["ok"] != true {
			t.Fatalf("run %d: locate: %v", run, reply)
		}
		if err := <-cancelled; err != nil {
			t.Fatalf("run %d: %v", run, err)
		}

		targeted, err := e.store.IsTargeted(ctx, alertID, patrol.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The move-in pushes the alert before the locate's reply, so the
		// frames so far hold it if it was pushed; the cancel may come later.
		gotAlert, gotCancel := false, false
		for _, f := range frames {
			switch {
			case f["type"] == "alert" && f["alert"].(map[string]any)["id"] == alertID:
				if gotCancel {
					t.Fatalf("run %d: the alert came after its alert_cancel", run)
				}
				gotAlert = true
			case f["type"] == "alert_cancel" && f["alert_id"] == alertID:
				gotCancel = true
			}
		}
		switch {
		case targeted && !gotAlert:
			t.Fatalf("run %d: the patrol is addressed by the alert but was not sent it (frames %v)", run, frames)
		case !targeted && gotAlert:
			t.Fatalf("run %d: the patrol got an alert that does not address it", run)
		case targeted && !gotCancel:
			addressed++
			if f := nextAlertCancel(pc, alertID, 5*time.Second); f == nil {
				t.Fatalf("run %d: the patrol got the alert but never its alert_cancel", run)
			}
		case targeted:
			addressed++
		}

		// No delivery row is written after the cancel.
		a, err := e.store.GetAlert(ctx, alertID)
		if err != nil || a.CancelledAt == nil {
			t.Fatalf("run %d: alert after the cancel: %+v, %v", run, a, err)
		}
		rs, err := e.store.ListRecipients(ctx, alertID, storage.RecipientFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.TargetedAt.After(*a.CancelledAt) {
				t.Fatalf("run %d: %s targeted at %v, after the cancel at %v", run, r.MemberID, r.TargetedAt, *a.CancelledAt)
			}
		}
		pc.c.CloseNow()
	}
	t.Logf("the patrol was addressed before the cancel in %d of %d runs", addressed, runs)
}

// postCancel cancels an alert over HTTP from any goroutine (e.call fails
// the test, which only the test's goroutine may do).
func postCancel(base, alertID, token string) error {
	req, err := http.NewRequest("POST", base+"/api/v1/alerts/"+alertID+"/cancel", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("cancel: %d %s", resp.StatusCode, body)
	}
	return nil
}

// nextAlertCancel waits up to d for the alert's alert_cancel frame.
func nextAlertCancel(w *wsClient, alertID string, d time.Duration) map[string]any {
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				return nil
			}
			if f["type"] == "alert_cancel" && f["alert_id"] == alertID {
				return f
			}
		case <-deadline:
			return nil
		}
	}
}
