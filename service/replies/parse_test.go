package replies

import (
	"testing"

	"github.com/longyou/hub/storage"
)

func TestParse(t *testing.T) {
	t.Parallel()
	eta := func(n int) *int { return &n }
	cases := []struct {
		body string
		mob  bool
		resp string
		eta  *int
	}{
		{"1", false, storage.RespReceived, nil},
		{" ３ ", false, storage.RespNeedHelp, nil},
		{"求助！", false, storage.RespNeedHelp, nil},
		{"救命", false, storage.RespNeedHelp, nil},
		{"SAFE", false, storage.RespSafe, nil},
		{"安全。", false, storage.RespSafe, nil},
		{"Received", false, storage.RespReceived, nil},
		{"Help!", false, storage.RespNeedHelp, nil},
		{"4", false, "", nil},
		{"来", false, "", nil},
		{"hello", false, "", nil},
		{"", false, "", nil},
		{"1", true, storage.RespComing, nil},
		{"来 12", true, storage.RespComing, eta(12)},
		{"来12分钟", true, storage.RespComing, eta(12)},
		{"1 12", true, storage.RespComing, eta(12)},
		{"１　１２", true, storage.RespComing, eta(12)},
		{"12分钟", true, storage.RespComing, eta(12)},
		{"前往", true, storage.RespComing, nil},
		{"Coming 5 min", true, storage.RespComing, eta(5)},
		{"到", true, storage.RespComing, nil},
		{"112", true, "", nil},
		{"12", true, "", nil},
		{"来 9999", true, "", nil},
		{"2", true, storage.RespUnavailable, nil},
		{"无法", true, storage.RespUnavailable, nil},
		{"unavailable", true, storage.RespUnavailable, nil},
		{"求助", true, storage.RespNeedHelp, nil},
		{"3", true, "", nil},
		{"来 12 小时", true, "", nil},
	}
	for _, c := range cases {
		r, ok := Parse(c.body, c.mob)
		if ok != (c.resp != "") || r.Response != c.resp {
			t.Errorf("Parse(%q, %v) = %+v, %v; want %q", c.body, c.mob, r, ok, c.resp)
			continue
		}
		if (r.EtaMin == nil) != (c.eta == nil) || (r.EtaMin != nil && *r.EtaMin != *c.eta) {
			t.Errorf("Parse(%q, %v) eta = %v, want %v", c.body, c.mob, r.EtaMin, c.eta)
		}
	}
}

func TestCarrierKeywords(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"STOP", " Unsubscribe ", "ＳＴＡＲＴ"} {
		if !IsCarrierKeyword(s) {
			t.Errorf("%q is a carrier keyword", s)
		}
	}
	for _, s := range []string{"help", "3", "stop it"} {
		if IsCarrierKeyword(s) {
			t.Errorf("%q is not a carrier keyword", s)
		}
	}
}

// FuzzParse: any text parses without a panic to nothing or a valid answer.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1", "来 12", "１２分钟", "救命！", "coming 5 min", "\u3000", "1 1440", "\xff"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	valid := map[string]bool{storage.RespReceived: true, storage.RespSafe: true, storage.RespNeedHelp: true,
		storage.RespComing: true, storage.RespUnavailable: true}
	f.Fuzz(func(t *testing.T, body string, mob bool) {
		r, ok := Parse(body, mob)
		if !ok {
			if r.Response != "" || r.EtaMin != nil {
				t.Fatalf("unread reply %q has a value %+v", body, r)
			}
			return
		}
		if !valid[r.Response] {
			t.Fatalf("Parse(%q) = %q", body, r.Response)
		}
		if !mob && (r.Response == storage.RespComing || r.Response == storage.RespUnavailable) {
			t.Fatalf("warning reply %q read as %q", body, r.Response)
		}
		if r.EtaMin != nil && (r.Response != storage.RespComing || *r.EtaMin < 0 || *r.EtaMin > MaxEtaMin) {
			t.Fatalf("Parse(%q) eta %d for %q", body, *r.EtaMin, r.Response)
		}
		if n := Normalize(body); Normalize(n) != n {
			t.Fatalf("Normalize not idempotent on %q: %q", body, n)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Parse("来 12 分钟", true)
		Parse("３", false)
	}
}
