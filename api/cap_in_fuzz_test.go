package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/longyou/hub/api/cap"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// FuzzCAPImportMapping: whatever CAP document the parser accepts, the
// import's mapping (the kept infos, the title and body, the area) never
// panics, keeps the hub's limits, and yields JSON; an area it returns is
// one the hub validates without panicking.
func FuzzCAPImportMapping(f *testing.F) {
	files, _ := filepath.Glob("cap/testdata/*.xml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier><sender>s</sender>` +
		`<sent>2026-06-15T08:00:00+08:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>`))
	villages := []storage.Village{{ID: "v1", Code: "330825100201"}, {ID: "v2", Code: "330825104201"}, {ID: "v3"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := cap.Parse(data)
		if err != nil {
			return
		}
		meta := metaOf(m)
		if _, err := json.Marshal(meta); err != nil {
			t.Fatalf("meta JSON: %v", err)
		}
		for _, in := range meta.Infos {
			if !utf8.ValidString(in.Title) || utf8.RuneCountInString(in.Title) > 200 || utf8.RuneCountInString(in.Body) > 4000 {
				t.Fatalf("title or body over the hub's limits: %q", in.Title)
			}
		}
		area, err := capAreaIn(m, func() ([]storage.Village, error) { return villages, nil })
		if err != nil {
			if !strings.HasPrefix(service.From(err).Message, "cap: ") {
				t.Fatalf("an area error that names no element: %v", err)
			}
			return
		}
		_ = area.Normalize() // may refuse (400), never panic
	})
}
