package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// BenchmarkInviteVillage: POST /api/v1/invitations for a village of 5,000
// members (invitations and their SMS rows written, 1,000 a transaction),
// through HTTP. ns/op is one whole village.
func BenchmarkInviteVillage(b *testing.B) {
	e := newEnv(b, func(c *Config) { c.SMSRate = 0.001 }) // the SMS stay queued
	const n = 5000
	reqs := make([]members.Input, n)
	for i := range reqs {
		reqs[i] = members.Input{Name: fmt.Sprint("v", i), Phone: fmt.Sprintf("+86137%08d", i), Role: storage.RoleResident,
			VillageID: e.villages[1].ID, Home: &inside}
	}
	if _, err := e.h.members.Create(context.Background(), reqs, false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		code, out := e.call("POST", "/api/v1/invitations", e.admin, map[string]any{"village_id": e.villages[1].ID})
		if code != 202 || num(out["invited"]) != n {
			b.Fatalf("invite: %d %v", code, out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/member")
}
