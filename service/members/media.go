package members

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/longyou/hub/internal/imageclean"
	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// MaxMediaBytes bounds an uploaded image.
const MaxMediaBytes = 5 << 20

var mediaTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true}

// CheckMediaType validates an upload's declared content type.
func CheckMediaType(ct string) error {
	if !mediaTypes[ct] {
		return service.Invalid("Content-Type must be image/jpeg, image/png or image/webp")
	}
	return nil
}

// MediaLimits bound uploads (docs/API.md v1.4). Zero fields pick the
// defaults; a negative size or count is no limit.
type MediaLimits struct {
	// MemberBytes and MemberFiles bound what one member uploads in 24
	// hours. Zero: 50 MiB and 200 files (a patrol's busy day of reports
	// with 9 photos each, several times over).
	MemberBytes int64
	MemberFiles int
	// TotalBytes bounds every upload kept. Zero: 20 GiB.
	TotalBytes int64
	// MaxPixels bounds width × height (checked on the header, before
	// decoding). Zero: 40,000,000.
	MaxPixels int
}

func (l *MediaLimits) setDefaults() {
	if l.MemberBytes == 0 {
		l.MemberBytes = 50 << 20
	}
	if l.MemberFiles == 0 {
		l.MemberFiles = 200
	}
	if l.TotalBytes == 0 {
		l.TotalBytes = 20 << 30
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = 40_000_000
	}
}

// quota is the store's form of the limits for an upload at now.
func (l *MediaLimits) quota(now time.Time) storage.MediaQuota {
	return storage.MediaQuota{Since: now.Add(-24 * time.Hour), OwnerBytes: max(l.MemberBytes, 0),
		OwnerFiles: max(l.MemberFiles, 0), TotalBytes: max(l.TotalBytes, 0)}
}

// AllowUpload takes a token of the member's upload rate.
func (s *Service) AllowUpload(memberID string) error {
	if !s.limits.Allow(memberID, policy.ActionMedia) {
		return service.Errorf(service.CodeRateLimited, "too many uploads; wait a moment")
	}
	return nil
}

// PutMedia cleans an image (already checked: type sniffed, size, rate) and
// stores it within the quotas. Cleaning decodes it, turns it upright by
// its EXIF orientation and encodes it again without any metadata (GPS,
// camera, thumbnails: internal/imageclean); a WebP is stored as JPEG. At
// most two images are cleaned at once (each may take ~200 MB while
// decoded); others wait for their turn or their request's deadline.
func (s *Service) PutMedia(ctx context.Context, ownerID, contentType string, data []byte) (storage.Media, error) {
	select {
	case s.cleaning <- struct{}{}:
	case <-ctx.Done():
		return storage.Media{}, fmt.Errorf("wait to clean an image: %w", ctx.Err())
	}
	clean, ct, err := imageclean.Clean(data, contentType, imageclean.Options{MaxPixels: s.media.MaxPixels})
	<-s.cleaning
	switch {
	case errors.Is(err, imageclean.ErrTooManyPixels):
		return storage.Media{}, service.Errorf(service.CodeTooLarge, "an image is at most %d megapixels", s.media.MaxPixels/1_000_000)
	case errors.Is(err, imageclean.ErrUndecodable), errors.Is(err, imageclean.ErrUnsupported):
		return storage.Media{}, service.Invalid("the body is not a readable %s image", contentType)
	case err != nil:
		return storage.Media{}, err
	}
	now := s.now()
	m := storage.Media{ID: service.NewID("md_"), ContentType: ct, Size: len(clean), OwnerID: ownerID, CreatedAt: now}
	err = s.store.PutMediaWithin(ctx, m, clean, s.media.quota(now))
	var qe *storage.QuotaError
	switch {
	case errors.As(err, &qe) && qe.Limit == storage.QuotaTotalBytes:
		s.log.WarnContext(ctx, "media storage full: uploads refused", "used_bytes", qe.Used, "limit_bytes", qe.Max)
		return storage.Media{}, service.Errorf(service.CodeTooLarge,
			"the hub's photo storage is full (%s); send the report without a photo and tell the administrator", mib(qe.Max))
	case errors.As(err, &qe) && qe.Limit == storage.QuotaOwnerFiles:
		return storage.Media{}, service.Errorf(service.CodeRateLimited,
			"you uploaded %d photos in the last 24 hours, the most allowed; try again later", qe.Max)
	case errors.As(err, &qe):
		return storage.Media{}, service.Errorf(service.CodeRateLimited,
			"you uploaded %s of photos in the last 24 hours, the most allowed; try again later", mib(qe.Max))
	case err != nil:
		return storage.Media{}, err
	}
	return m, nil
}

// mib writes a size in MiB or GiB.
func mib(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// GetMedia reads an image.
func (s *Service) GetMedia(ctx context.Context, id string) (storage.Media, []byte, error) {
	return s.store.GetMedia(ctx, id)
}
