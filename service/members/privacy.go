package members

import (
	"context"

	"github.com/longyou/hub/storage"
)

// fresh drops a live position older than the node's LiveTTL (30 minutes
// by default): no answer shows a position that targeting no longer uses
// as where the member is. The store keeps it until the retention job
// clears it (server's -retain-live).
func (s *Service) fresh(m *storage.Member) {
	if m.Live != nil && s.now().Sub(m.Live.At) >= s.node.LiveTTL() {
		m.Live = nil
	}
}

// Export returns everything the store holds about a member (PIPL's right
// to a copy): the record as stored (its live position however old), and
// see storage.MemberData.
func (s *Service) Export(ctx context.Context, id string) (storage.MemberData, error) {
	return s.store.ExportMember(ctx, id)
}

// Erase erases a member (storage.Erasure): the store first, then every
// node's directory forgets it and its connections are closed.
func (s *Service) Erase(ctx context.Context, id string) (storage.Erasure, error) {
	e, err := s.store.EraseMember(ctx, id, s.now())
	if err != nil {
		return storage.Erasure{}, err
	}
	s.node.Forget(id)
	return e, nil
}
