package members

import "github.com/longyou/hub/storage"

// fresh drops a live position older than the node's LiveTTL (30 minutes
// by default): no answer shows a position that targeting no longer uses
// as where the member is. The store keeps it until the retention job
// clears it (server's -retain-live).
func (s *Service) fresh(m *storage.Member) {
	if m.Live != nil && s.now().Sub(m.Live.At) >= s.node.LiveTTL() {
		m.Live = nil
	}
}
