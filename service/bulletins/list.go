package bulletins

import "github.com/longyou/hub/service"

// CheckCategory validates a category filter.
func (s *Service) CheckCategory(category string) error {
	if !s.pol.Now().ValidCategory(category) {
		return service.Invalid("category must be one of %s", service.OneOf(s.pol.Now().Bulletins.Categories))
	}
	return nil
}
