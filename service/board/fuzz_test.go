package board

import (
	"testing"
	"unicode/utf8"

	"github.com/longyou/hub/storage"
)

// FuzzMask: the board's masked names never panic, keep the first
// character and hide every other one.
func FuzzMask(f *testing.F) {
	for _, s := range []string{"", "张三", "王小明", "a", "Ōmori Ken", "\xff\xfe", "欧阳娜娜"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		m := Mask(name)
		if name == "" {
			if m != "" {
				t.Fatalf("Mask(\"\") = %q", m)
			}
			return
		}
		first, size := utf8.DecodeRuneInString(name)
		rest := min(max(utf8.RuneCountInString(name[size:]), 1), maxStars)
		if want := string(first) + stars(rest); m != want {
			t.Fatalf("Mask(%q) = %q, want %q", name, m, want)
		}
		if len(name) > size && m[len(string(first)):] != stars(rest) {
			t.Fatalf("Mask(%q) = %q shows more than the first character", name, m)
		}
	})
}

func stars(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '*'
	}
	return string(b)
}

func TestRateOf(t *testing.T) {
	if r := RateOf(storageTally(0, 0, 0)); r.Rate != nil || r.Counted != 0 {
		t.Errorf("no public report: %+v", r)
	}
	if r := RateOf(storageTally(2, 2, 0)); r.Rate != nil || r.Counted != 0 {
		t.Errorf("all rejected: %+v", r)
	}
	if r := RateOf(storageTally(5, 1, 3)); r.Rate == nil || *r.Rate != 0.75 || r.Counted != 4 {
		t.Errorf("5 public, 1 rejected, 3 resolved: %+v", r)
	}
}

func storageTally(public, rejected, resolved int) storage.BoardTally {
	return storage.BoardTally{Public: public, Rejected: rejected, Resolved: resolved}
}
