package invites

import (
	"strings"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestAnswerCodeRoundTrip(t *testing.T) {
	t.Parallel()
	l, err := NewLinks(testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		seq int64
		id  string
	}{{1, "m_AAAAAAAAAAAAAAAAAAAAAA"}, {123456, "m_q83vEjRWeJCrze8SNFZ4kA"}, {7, "admin-1"}, {1 << 40, "m_short"}} {
		code := l.AnswerCode(c.seq, c.id)
		if strings.ContainsAny(code, "+/=") {
			t.Errorf("code %q is not URL-safe", code)
		}
		seq, id, err := l.DecodeAnswer(code)
		if err != nil || seq != c.seq || id != c.id {
			t.Errorf("decode(%q) = %d %q %v, want %d %q", code, seq, id, err, c.seq, c.id)
		}
	}
	// A hub member id at a 6-digit seq: 3 + 1 + 16 + 8 bytes = 38 characters.
	if n := len(l.AnswerCode(123456, "m_q83vEjRWeJCrze8SNFZ4kA")); n != 38 {
		t.Errorf("code length %d, want 38", n)
	}
	// Another key, a changed character: refused.
	other, _ := NewLinks([]byte("another-key-another-key-another-key"))
	code := l.AnswerCode(5, "m_q83vEjRWeJCrze8SNFZ4kA")
	if _, _, err := other.DecodeAnswer(code); err == nil {
		t.Error("a code of another key decoded")
	}
	b := []byte(code)
	b[3] ^= 1
	if _, _, err := l.DecodeAnswer(string(b)); err == nil {
		t.Error("a changed code decoded")
	}
}

func TestLoginCode(t *testing.T) {
	t.Parallel()
	l, _ := NewLinks(testKey)
	c := l.LoginCode("lc_1")
	if len(c) != 6 || strings.Trim(c, "0123456789") != "" || c != l.LoginCode("lc_1") {
		t.Fatalf("login code %q", c)
	}
	if l.InviteSecret("i1") == l.InviteSecret("i2") || len(l.InviteSecret("i1")) != 22 {
		t.Fatal("invite secrets")
	}
	if _, err := NewLinks([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}

// FuzzDecodeAnswer: the decoder never panics, and whatever it accepts
// encodes back to the same code.
func FuzzDecodeAnswer(f *testing.F) {
	l, _ := NewLinks(testKey)
	f.Add(l.AnswerCode(1, "m_AAAAAAAAAAAAAAAAAAAAAA"))
	f.Add(l.AnswerCode(99999, "x"))
	f.Add("")
	f.Add("AAAA")
	f.Add(strings.Repeat("_", 500))
	f.Fuzz(func(t *testing.T, code string) {
		seq, id, err := l.DecodeAnswer(code)
		if err != nil {
			return
		}
		if got := l.AnswerCode(seq, id); got != code {
			t.Fatalf("decoded %q to %d %q which encodes to %q", code, seq, id, got)
		}
	})
}
