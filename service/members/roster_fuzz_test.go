package members

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// FuzzMemberSheet reads arbitrary bytes as a members CSV: never a panic;
// a sheet is either refused (with an error, and a report only for row
// errors) or gives rows that are each complete and valid, with distinct
// keys, and lines that grow.
func FuzzMemberSheet(f *testing.F) {
	for _, seed := range []string{
		"姓名,手机,村,角色,地址,纬度,经度\n张三,13800000000,甲村,村民,1组1号,29.1,119.2\n",
		"name,phone,village,role\n李四,+86 138 0000 0001,v_1,patrol\n王五,,330100000001,\n",
		"\ufeffName,Village,Lat,Lng,Lang,Travel_Mode\n赵六,甲村,29,,en,walk\n",
		"姓名,村\n\"multi\nline\",甲村\n,\n",
		"姓名,村,手机\n甲,乙村,0086 13800000000\n甲,乙村,13800000000\n",
		"\xd0\xd5\xc3\xfb,\xb4\xe5\n\xd5\xc5,\xbc\xd7\xb4\xe5\n", // GB18030: 姓名,村 / 张,甲村
	} {
		f.Add([]byte(seed))
	}
	vs := []storage.Village{
		{ID: "v_1", Name: "甲村", Code: "330100000001"},
		{ID: "v_2", Name: "乙村"},
		{ID: "v_3", Name: "乙村"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, rep, err := readMemberSheet(context.Background(), newCSVSheet(data), newVillageIndex(vs),
			storage.RoleCommander, time.Unix(0, 0), func(int, int) {})
		if err != nil {
			if len(rows) != 0 {
				t.Fatalf("rows with an error: %v", err)
			}
			if rep != nil && (rep.ErrorsTotal == 0 || len(rep.Errors) == 0) {
				t.Fatalf("a report without errors beside %v", err)
			}
			return
		}
		keys := map[string]bool{}
		last := 0
		for _, r := range rows {
			m := &r.Member
			if m.Name == "" || m.VillageID == "" || m.ID == "" || r.Line <= last {
				t.Fatalf("incomplete row %+v after line %d", r, last)
			}
			last = r.Line
			if m.Phone != "" && (!strings.HasPrefix(m.Phone, "+861") || len(m.Phone) != 14) {
				t.Fatalf("phone %q", m.Phone)
			}
			if m.Role == storage.RoleAdmin || m.Role == storage.RoleCommander {
				t.Fatalf("role %q imported by a commander", m.Role)
			}
			if (m.Home != nil) && (m.Home.Lat < -90 || m.Home.Lat > 90 || m.Home.Lng < -180 || m.Home.Lng > 180 || m.Home.Lat != m.Home.Lat) {
				t.Fatalf("home %+v", m.Home)
			}
			k := rowKey(m)
			if keys[k] {
				t.Fatalf("two rows with key %q", k)
			}
			keys[k] = true
		}
		if rep.Rows < len(rows) {
			t.Fatalf("report counts %d rows, %d read", rep.Rows, len(rows))
		}
	})
}

// TestNormalizePhone: the forms people write a Chinese mobile in.
func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"13800000000": "+8613800000000", "138 0000 0000": "+8613800000000", "+86 138-0000-0000": "+8613800000000",
		"008613800000000": "+8613800000000", "8613800000000": "+8613800000000", "+8613800000000": "+8613800000000",
		"12345": "", "23800000000": "", "+1 202 555 0100": "", "1380000000a": "", "": "", "11800000000": "",
	} {
		got, ok := NormalizePhone(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if p, ok := PhoneInput("+12025550100"); !ok || p != "+12025550100" {
		t.Errorf("PhoneInput(E.164) = %q, %v", p, ok)
	}
}
