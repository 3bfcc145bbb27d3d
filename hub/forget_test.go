package hub

import (
	"context"
	"testing"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/storage"
)

// TestDirectoryReloadForgetsErased: a member erased in the store while
// this node did not hear of it (Redis down) leaves the directory at the
// next reload; a member the reload did not list but the store has (made
// meanwhile) stays; Forget removes one at once, and nothing lists it.
func TestDirectoryReloadForgetsErased(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	gone, _ := e.member(storage.RoleResident, 0, inside)
	kept, _ := e.member(storage.RoleResident, 0, inside)
	forgotten, _ := e.member(storage.RolePatrol, 0, inside)
	eraser, ok := e.store.(interface {
		EraseMember(ctx context.Context, id string, at time.Time) (storage.Erasure, error)
	})
	if !ok {
		t.Fatal("the test store cannot erase")
	}
	if _, err := eraser.EraseMember(ctx, gone.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	// kept is missing from this listing (as if made after it passed).
	e.h.pruneDirectory(ctx, map[string]bool{forgotten.ID: true})
	dir := e.h.Directory()
	if _, _, ok := dir.Member(gone.ID); ok {
		t.Error("the erased member is still in the directory")
	}
	if _, _, ok := dir.Member(kept.ID); !ok {
		t.Error("a member the store has was dropped")
	}
	e.h.Forget(forgotten.ID)
	if _, _, ok := dir.Member(forgotten.ID); ok {
		t.Error("Forget left the member in the directory")
	}
	if ids := dir.WithRole(storage.RolePatrol, "", 10); len(ids) != 0 {
		t.Errorf("WithRole lists a forgotten member: %v", ids)
	}
	r, err := geo.Compile(geo.Area{Circle: &geo.Circle{Lat: inside.Lat, Lng: inside.Lng, RadiusM: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if ids := dir.InRegion(r, AllRoles, time.Now()); len(ids) != 1 || ids[0] != kept.ID {
		t.Errorf("in the area: %v, want only %s", ids, kept.ID)
	}
}
