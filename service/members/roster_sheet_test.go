package members

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/longyou/hub/storage"
)

// TestXLSXNumericCells: a county's XLSX often keeps phones and positions
// as numbers, not text; they read as written (not 1.38E+10), and a sheet
// other than the first is ignored.
func TestXLSXNumericCells(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	defer f.Close()
	for cell, v := range map[string]any{
		"A1": "姓名", "B1": "手机号", "C1": "村", "D1": "纬度", "E1": "经度",
		"A2": "张三", "B2": int64(13800000000), "C2": "甲村", "D2": 29.031, "E2": 119.171,
		"A4": "李四", "B4": 13900000001.0, "C4": 330100000001, // row 3 blank
	} {
		if err := f.SetCellValue("Sheet1", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.NewSheet("Other"); err != nil {
		t.Fatal(err)
	}
	_ = f.SetCellValue("Other", "A1", "ignored")
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	sh, err := openSheet(SheetFormat("application/octet-stream", b.Bytes()), b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	defer sh.close()
	vx := newVillageIndex([]storage.Village{{ID: "v_1", Name: "甲村", Code: "330100000001"}})
	rows, rep, err := readMemberSheet(context.Background(), sh, vx, storage.RoleAdmin, time.Unix(0, 0), func(int, int) {})
	if err != nil {
		t.Fatalf("read: %v (report %+v)", err, rep)
	}
	if len(rows) != 2 || rep.Rows != 2 {
		t.Fatalf("rows %+v", rows)
	}
	a, b2 := rows[0].Member, rows[1].Member
	if a.Phone != "+8613800000000" || a.Home == nil || a.Home.Lat != 29.031 || a.VillageID != "v_1" || rows[0].Line != 2 {
		t.Errorf("row 2 = %+v line %d", a, rows[0].Line)
	}
	if b2.Phone != "+8613900000001" || b2.VillageID != "v_1" || rows[1].Line != 4 {
		t.Errorf("row 4 = %+v line %d", b2, rows[1].Line)
	}
}
