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
		s := smsText(a, &row, "https://hub.example", "")
		if n, _ := Segments(s); n > 2 {
			t.Errorf("%+v: %d segments: %q", row, n, s)
		}
		if !strings.HasSuffix(s, "https://hub.example/m") {
			t.Errorf("%+v: link cut: %q", row, s)
		}
	}
}

// TestSMSTextAnswerLink: the alert SMS carries the answer link whole in
// two segments, however long the body; the all-clear keeps /m; invitation
// and login texts fit too.
func TestSMSTextAnswerLink(t *testing.T) {
	t.Parallel()
	a := &storage.Alert{Title: "山洪预警", Severity: "extreme", Kind: "mobilization", Body: strings.Repeat("请立即转移到村委会二楼避险。", 30)}
	link := "https://hub.example.cn/a/" + strings.Repeat("x", 38)
	c := NewSMS(&LogSender{}, "https://hub.example.cn", WithAnswerLinks(func(*storage.Alert, string) string { return strings.Repeat("x", 38) }))
	for _, row := range []storage.Message{{Kind: storage.MessageAlert, MemberID: "m"}, {Kind: storage.MessageAlert, Lang: "en"}, {Kind: storage.MessageAllClear}} {
		m := c.Compose(&Item{Row: &row, Alert: a})
		if n, _ := Segments(m.Body); n > 2 {
			t.Errorf("%+v: %d segments: %q", row, n, m.Body)
		}
		want := link
		if row.Kind == storage.MessageAllClear {
			want = "https://hub.example.cn/m"
		}
		if !strings.HasSuffix(m.Body, want) {
			t.Errorf("%+v: %q does not end with %q", row, m.Body, want)
		}
	}
	inv := &Invite{Name: strings.Repeat("王", 40), Village: strings.Repeat("村", 40), Link: "https://hub.example.cn/m?invite=" + strings.Repeat("y", 22), Days: 7}
	for _, lang := range []string{"", "en"} {
		row := storage.Message{Ref: storage.Ref{Type: storage.RefInvite}, Lang: lang}
		m := c.Compose(&Item{Row: &row, Invite: inv})
		if n, _ := Segments(m.Body); n > 2 || !strings.Contains(m.Body, inv.Link) {
			t.Errorf("invite %q: %d segments: %q", lang, n, m.Body)
		}
		row = storage.Message{Ref: storage.Ref{Type: storage.RefLogin}, Lang: lang}
		if m := c.Compose(&Item{Row: &row, LoginCode: "123456"}); !strings.Contains(m.Body, "123456") {
			t.Errorf("login %q: %q", lang, m.Body)
		}
	}
}
