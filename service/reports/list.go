package reports

import "github.com/longyou/hub/service"

// CheckKind validates a kind filter.
func (s *Service) CheckKind(kind string) error {
	if !s.pol.Now().ValidReportKind(kind) {
		return service.Invalid("kind must be one of %s", service.OneOf(s.pol.Now().ReportKindNames()))
	}
	return nil
}
