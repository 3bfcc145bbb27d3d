package api

import (
	"testing"
	"unicode/utf8"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/board"
)

// FuzzDeedRequest: a good deed's body (v1.6) decodes or is a bad_request;
// one that passes the checks has a valid title of 1 to 100 characters and
// at most 9 photos. The rectification body decodes likewise.
func FuzzDeedRequest(f *testing.F) {
	for _, s := range []string{
		`{"title":"扶老人过河","text":"雨天","about":"王大伯","photos":["md_1"],"household_id":"h_1"}`,
		`{"title":""}`, `{"title":"x","photos":null}`, `{"title":7}`, `{"photos":["a","a"]}`, `{}`, `null`,
		"\xff", `{"title":"\ud800"}`, `{"village_id":"v_1","title":"x","extra":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var rr rectifyRequest
		if err := unmarshalStrict(data, &rr); err != nil && service.From(err).Code != service.CodeBadRequest {
			t.Fatalf("rectification decode error %v is not a bad_request", err)
		}
		var req deedRequest
		if err := unmarshalStrict(data, &req); err != nil {
			if service.From(err).Code != service.CodeBadRequest {
				t.Fatalf("decode error %v is not a bad_request", err)
			}
			return
		}
		d := board.DeedDraft{VillageID: req.VillageID, Title: req.Title, Text: req.Text, Photos: req.Photos,
			About: req.About, HouseholdID: req.HouseholdID}
		err := board.CheckDeed(d)
		if err != nil {
			if service.From(err).Code != service.CodeBadRequest {
				t.Fatalf("check error %v is not a bad_request", err)
			}
			return
		}
		if n := utf8.RuneCountInString(req.Title); !utf8.ValidString(req.Title) || n < 1 || n > 100 || len(req.Photos) > 9 {
			t.Fatalf("accepted %+v", req)
		}
	})
}
