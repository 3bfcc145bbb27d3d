package members

import (
	"context"

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

// AllowUpload takes a token of the member's upload rate.
func (s *Service) AllowUpload(memberID string) error {
	if !s.limits.Allow(memberID, policy.ActionMedia) {
		return service.Errorf(service.CodeRateLimited, "too many uploads; wait a moment")
	}
	return nil
}

// PutMedia stores an image (already checked: type sniffed, size, rate).
func (s *Service) PutMedia(ctx context.Context, ownerID, contentType string, data []byte) (storage.Media, error) {
	m := storage.Media{ID: service.NewID("md_"), ContentType: contentType, Size: len(data), OwnerID: ownerID, CreatedAt: s.now()}
	if err := s.store.PutMedia(ctx, m, data); err != nil {
		return storage.Media{}, err
	}
	return m, nil
}

// GetMedia reads an image.
func (s *Service) GetMedia(ctx context.Context, id string) (storage.Media, []byte, error) {
	return s.store.GetMedia(ctx, id)
}
