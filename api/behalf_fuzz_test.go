package api

import (
	"slices"
	"testing"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
)

// FuzzBehalfRequest: no body of POST /api/v1/alerts/{id}/acks panics its
// decoding and checks; every refusal is a bad_request, and a body that
// passes names a member and one of the three answers a patrol may give.
func FuzzBehalfRequest(f *testing.F) {
	for _, s := range []string{
		`{"member_id":"m_1","response":"safe"}`, `{"member_id":"m_1","response":"need_help","note":"腿受伤"}`,
		`{"member_id":"m_1","response":"coming"}`, `{"member_id":"","response":"safe"}`,
		`{"member_id":"m_1","response":"safe","note":"\u202e"}`, `{"member_id":1}`, `[]`, `null`, `{`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req behalfRequest
		err := unmarshalStrict(data, &req)
		if err == nil {
			err = alerting.CheckAnswerFor(alerting.Answer{AlertID: "a_1", MemberID: req.MemberID, Response: req.Response, Note: req.Note})
			if err == nil && (req.MemberID == "" || !slices.Contains([]string{"received", "safe", "need_help"}, req.Response)) {
				t.Fatalf("accepted %+v", req)
			}
		}
		if err != nil && service.From(err).Code != service.CodeBadRequest {
			t.Fatalf("error code %q", service.From(err).Code)
		}
	})
}
