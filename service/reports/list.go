package reports

import "github.com/longyou/hub/service"

// CheckKind validates a kind filter.
func (s *Service) CheckKind(kind string) error {
	if !s.pol.ValidReportKind(kind) {
		return service.Invalid("kind must be one of %s", service.OneOf(s.pol.ReportKindNames()))
	}
	return nil
}
