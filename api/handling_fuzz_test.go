package api

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// FuzzHandlingFilter: the report list's v1.6 filters (level, overdue,
// assignee_id, township) either are refused with bad_request or forbidden
// or give a filter of known values; never a panic.
func FuzzHandlingFilter(f *testing.F) {
	for _, s := range []string{
		"level=township&overdue=true", "overdue=false&assignee_id=m_1", "level=nowhere", "overdue=1",
		"township=T", "township=T&village_id=v_1", "level=&overdue=", "%zz", "township=" + string(make([]byte, 200)),
	} {
		f.Add(s)
	}
	a := &API{}
	cadre := &Principal{Member: storage.Member{ID: "m_c", Role: storage.RoleCadre, VillageID: "v_1", Township: "T"},
		Governs: []string{"v_1", "v_2"}}
	resident := &Principal{Member: storage.Member{ID: "m_r", Role: storage.RoleResident, VillageID: "v_1"}}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/api/v1/reports?"+q.Encode(), nil)
		for _, p := range []*Principal{cadre, resident} {
			fl := storage.ReportFilter{VillageID: q.Get("village_id")}
			err := a.handlingFilter(r, p, &fl)
			if err != nil {
				if c := service.From(err).Code; c != service.CodeBadRequest && c != service.CodeForbidden {
					t.Fatalf("%q: error code %q", query, c)
				}
				continue
			}
			switch fl.Level {
			case "", storage.LevelVillage, storage.LevelTownship, storage.LevelCounty:
			default:
				t.Fatalf("%q: level %q", query, fl.Level)
			}
			if fl.Overdue != nil && q.Get("overdue") != "true" && q.Get("overdue") != "false" {
				t.Fatalf("%q: overdue %v", query, *fl.Overdue)
			}
			if p == cadre && fl.VillageIDs != nil && len(fl.VillageIDs) != 2 {
				t.Fatalf("%q: a township cadre's villages %v", query, fl.VillageIDs)
			}
		}
	})
}
