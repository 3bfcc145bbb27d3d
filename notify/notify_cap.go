package notify

import (
	"encoding/json"
	"strings"

	"github.com/longyou/hub/storage"
)

// capText is the title and body of an alert's SMS in the member's
// language (docs/API.md v1.6): an alert imported from CAP with an info in
// English gives an English member that info's title and body, as long as
// the alert's own text is still the one it came with (an update in place
// changes only the alert's own, Chinese, text). Otherwise the alert's.
func capText(a *storage.Alert, en bool) (title, body string) {
	title, body = a.Title, a.Body
	if !en || len(a.Meta) == 0 {
		return
	}
	var meta struct {
		Infos []struct {
			Language, Title, Body string
		} `json:"infos"`
	}
	if json.Unmarshal(a.Meta, &meta) != nil {
		return
	}
	var zh, eng int = -1, -1
	for i, in := range meta.Infos {
		lang := strings.ToLower(in.Language)
		if zh < 0 && strings.HasPrefix(lang, "zh") {
			zh = i
		}
		if eng < 0 && (lang == "en" || strings.HasPrefix(lang, "en-")) {
			eng = i
		}
	}
	if zh < 0 || eng < 0 || meta.Infos[zh].Title != a.Title || meta.Infos[eng].Title == "" {
		return
	}
	return meta.Infos[eng].Title, meta.Infos[eng].Body
}
