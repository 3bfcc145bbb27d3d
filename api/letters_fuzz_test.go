package api

import (
	"testing"
	"unicode/utf8"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/letters"
)

// FuzzLetterRequest: no letter body panics decoding or validation; a
// refused one is a bad_request; one that validates is addressed to the
// village or the township with a subject and a body of valid text.
func FuzzLetterRequest(f *testing.F) {
	for _, s := range []string{
		`{"to":"village","subject":"路灯","body":"三组路灯坏了"}`,
		`{"to":"township","subject":"s","body":"b"}`,
		`{"to":"county","subject":"s","body":"b"}`,
		`{"to":"village","subject":"","body":"b"}`,
		`{"to":"village","subject":"\u202e","body":"b"}`,
		`{"to":3}`, `{}`, `null`, `[]`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req letterRequest
		if err := unmarshalStrict(data, &req); err != nil {
			if se := service.From(err); se.Code != service.CodeBadRequest {
				t.Fatalf("decode error code %q", se.Code)
			}
			return
		}
		err := letters.CheckDraft(letters.Draft{To: req.To, Subject: req.Subject, Body: req.Body})
		if err != nil {
			if se := service.From(err); se.Code != service.CodeBadRequest {
				t.Fatalf("validation error code %q", se.Code)
			}
			return
		}
		if req.To != "village" && req.To != "township" {
			t.Fatalf("valid letter to %q", req.To)
		}
		if req.Subject == "" || req.Body == "" || !utf8.ValidString(req.Subject) || !utf8.ValidString(req.Body) ||
			utf8.RuneCountInString(req.Subject) > 100 {
			t.Fatalf("valid letter with subject %q body %q", req.Subject, req.Body)
		}
	})
}
