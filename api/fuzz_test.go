package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/service/members"
)

// FuzzParseCommand: no client frame panics the decoder; a frame that
// decodes has a type field read as given, and every failure is a
// bad_request error whose reply is valid JSON.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		`{"type":"resume","id":"1","since":0}`,
		`{"type":"locate","id":"2","lat":29.03,"lng":119.17,"accuracy_m":5}`,
		`{"type":"ack","id":"3","alert_id":"a_x","response":"coming","eta_min":12,"note":"on my way"}`,
		`{"type":"report","id":"4","kind":"flood","text":"水漫过桥","lat":29,"lng":119,"photos":["md_1"]}`,
		`{"type":"ping","id":"5"}`, `{"type":`, `[]`, `null`, `{"id":7}`, `{"since":1e400}`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, id, err := parseCommand(data)
		if err != nil {
			if se := service.From(err); se.Code != service.CodeBadRequest {
				t.Fatalf("decode error code %q", se.Code)
			}
			if !json.Valid(errorReply(id, err)) {
				t.Fatalf("error reply is not JSON")
			}
			return
		}
		if cmd == nil {
			t.Fatalf("nil command without error")
		}
	})
}

// FuzzAlertRequest: no alert body panics decoding or validation, and a
// body that validates has exactly one area kind.
func FuzzAlertRequest(f *testing.F) {
	for _, s := range []string{
		`{"kind":"warning","severity":"severe","title":"t","area":{"circle":{"lat":29,"lng":119,"radius_m":3000}}}`,
		`{"kind":"mobilization","severity":"extreme","title":"t","area":{"reach":{"lat":29,"lng":119}},"roles":["patrol"]}`,
		`{"kind":"warning","severity":"minor","title":"t","area":{"polygon":[[29,119],[29.1,119],[29.1,119.1]]}}`,
		`{"kind":"all_clear","severity":"minor","title":"t","area":{"villages":["v_1","v_1"]},"sms_fallback_after_s":60}`,
		`{"area":{"polygon":[[29,119],[29.1,119.1],[29,119.1],[29.1,119]]}}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		var req alertRequest
		if unmarshalStrict(data, &req) != nil {
			return
		}
		d := req.draft()
		if alerting.ValidateAt(&d, now) != nil {
			return
		}
		a := d.Area
		n := 0
		for _, set := range []bool{a.Circle != nil, a.Polygon != nil, a.Reach != nil, a.Villages != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("valid request with %d area kinds", n)
		}
	})
}

// FuzzMemberPatch: PATCH /api/v1/members/{id}'s body decodes or is refused
// with a bad_request, never panics, and what decodes validates or is
// refused the same way.
func FuzzMemberPatch(f *testing.F) {
	for _, s := range []string{
		`{"address":"3组12号","travel_mode":"bike"}`, `{"home":null}`, `{"home":{"lat":29,"lng":119}}`,
		`{"travel_mode":""}`, `{"home":[1,2]}`, `{"travel_mode":7}`, `{}`, `null`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req memberPatch
		if err := unmarshalStrict(data, &req); err != nil {
			if service.From(err).Code != service.CodeBadRequest {
				t.Fatalf("decode error %v is not a bad_request", err)
			}
			return
		}
		if req.TravelMode != nil {
			_ = members.CheckTravelMode(*req.TravelMode)
		}
		if req.Home != nil && string(req.Home) != "null" {
			var h LatLng
			_ = unmarshalStrict(req.Home, &h)
		}
	})
}

// FuzzCursor: a paging cursor from a client decodes to a positive key of
// its own list or is refused, never panics, and every cursor the hub makes
// decodes back to its key for its list only.
func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor("reports", 42), "reports", int64(42))
	f.Add("not base64!", "alerts", int64(1))
	f.Add(encodeCursor("alerts", 7), "bulletins", int64(7))
	f.Fuzz(func(t *testing.T, s, list string, key int64) {
		if n, ok := decodeCursor(s, list); ok && n < 1 {
			t.Fatalf("decodeCursor(%q, %q) = %d, accepted", s, list, n)
		}
		if key < 1 {
			return
		}
		c := encodeCursor(list, key)
		if n, ok := decodeCursor(c, list); !ok || n != key {
			t.Fatalf("round trip of (%q, %d): %d %v", list, key, n, ok)
		}
		if _, ok := decodeCursor(c, list+"x"); ok {
			t.Fatalf("a %q cursor was accepted for %q", list, list+"x")
		}
	})
}
