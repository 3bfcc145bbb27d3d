package alerting

import (
	"context"
	"slices"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// behalfResponses are the answers a patrol or cadre may record for a
// villager it checked on (issue 12): it saw the member and the member is
// safe, needs help, or got the alert. coming and unavailable are a
// responder's own word.
var behalfResponses = []string{storage.RespReceived, storage.RespSafe, storage.RespNeedHelp}

// AnswerFor records an answer that by gives on in.MemberID's behalf,
// through the same batch as the member's own answers (the live progress,
// the member's pending SMS cancelled); the member's own later answer wins
// by time as usual. The caller (the API) has checked that by may answer
// for that member. It is limited per answering member at the rate of a
// WebSocket's commands (policy ActionCommand), as the answers a member
// sends itself are. A member that is not a target of the alert, or an
// unknown alert, is not found.
func (s *Service) AnswerFor(ctx context.Context, in Answer, by service.Actor) (storage.Ack, error) {
	if err := CheckAnswerFor(in); err != nil {
		return storage.Ack{}, err
	}
	if !s.limits.Allow(by.ID, policy.ActionCommand) {
		return storage.Ack{}, service.Errorf(service.CodeRateLimited, "too many answers; slow down")
	}
	in.EtaMin = nil
	if in.MemberID != by.ID {
		in.By = by.ID
	}
	return s.answer(ctx, in)
}

// CheckAnswerFor validates the body of an answer on someone's behalf
// before anything is looked up.
func CheckAnswerFor(in Answer) error {
	if in.AlertID == "" || len(in.AlertID) > 100 {
		return service.Invalid("alert_id is required")
	}
	if in.MemberID == "" || len(in.MemberID) > 100 {
		return service.Invalid("member_id is required")
	}
	if !slices.Contains(behalfResponses, in.Response) {
		return service.Invalid("response must be received, safe or need_help")
	}
	return service.CheckText("note", in.Note, 500, true)
}
