package notify

import (
	"strings"
	"testing"

	"github.com/longyou/hub/storage"
)

func TestSMSText(t *testing.T) {
	t.Parallel()
	a := &storage.Alert{Title: "山洪预警", Severity: "extreme", Kind: "warning", Body: strings.Repeat("请立即转移到村委会二楼避险。", 30)}
	for _, row := range []storage.Message{{Kind: storage.MessageAlert}, {Kind: storage.MessageAlert, Lang: "en"}, {Kind: storage.MessageAllClear}} {
		s := smsText(a, &row, "https://hub.example")
		if n, _ := Segments(s); n > 2 {
			t.Errorf("%+v: %d segments: %q", row, n, s)
		}
		if !strings.HasSuffix(s, "https://hub.example/m") {
			t.Errorf("%+v: link cut: %q", row, s)
		}
	}
}
