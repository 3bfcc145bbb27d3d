package reports

import (
	"context"

	"github.com/longyou/hub/service"
)

// checkPhotos checks that each photo is a media upload of the reporter,
// from its metadata only (MediaInfo): the blobs, up to 5 MiB each, are
// never read to make a report.
func (s *Service) checkPhotos(ctx context.Context, ids []string, ownerID string) error {
	for _, id := range ids {
		m, err := s.store.MediaInfo(ctx, id)
		if err != nil && !service.IsNotFound(err) {
			return err
		}
		if err != nil || m.OwnerID != ownerID {
			return service.Invalid("photos: unknown media id %q", id)
		}
	}
	return nil
}
