package notify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/longyou/hub/storage"
)

// TestSMSTextExerciseAndCAP (docs/API.md v1.6): an exercise's SMS says
// 演练 first; an English member gets a CAP alert's English info while the
// alert's text is the imported one, and the alert's own after an update.
func TestSMSTextExerciseAndCAP(t *testing.T) {
	meta, _ := json.Marshal(map[string]any{"infos": []map[string]string{
		{"language": "zh-CN", "title": "暴雨橙色预警", "body": "请注意防范"},
		{"language": "en-US", "title": "Rainstorm Orange Warning", "body": "Keep away from streams"},
	}})
	a := &storage.Alert{ID: "a1", Kind: "warning", Severity: "severe", Title: "暴雨橙色预警", Body: "请注意防范"}
	a.Exercise, a.Meta = true, meta
	zh := smsText(a, &storage.Message{Kind: storage.MessageAlert}, "https://hub.example", "")
	if !strings.HasPrefix(zh, "【演练】【应急严重预警】暴雨橙色预警：请注意防范") {
		t.Errorf("zh exercise SMS: %q", zh)
	}
	en := smsText(a, &storage.Message{Kind: storage.MessageAlert, Lang: "en"}, "https://hub.example", "")
	if !strings.HasPrefix(en, "[EXERCISE] [Emergency SEVERE warning] Rainstorm Orange Warning: Keep away from streams") {
		t.Errorf("en exercise SMS: %q", en)
	}
	a.Exercise, a.Title, a.Body = false, "暴雨红色预警", "立即转移"
	en = smsText(a, &storage.Message{Kind: storage.MessageAlert, Lang: "en"}, "https://hub.example", "")
	if !strings.HasPrefix(en, "[Emergency SEVERE warning] 暴雨红色预警: 立即转移") {
		t.Errorf("en SMS after an update in place: %q", en)
	}
}
