package server

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"

	"github.com/xuri/excelize/v2"
)

// A generator of county spreadsheets for the roster tests and benchmarks:
// realistic rows (Chinese names, phones written in the forms people use,
// addresses, a few positions, some without a phone) over villages named
// 村0001.. with codes 330100000001...

const (
	ctCSV  = "text/csv"
	ctXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	given    = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬建国志军德福春梅海波金凤小红淑珍")
)

// villageSheet is a villages sheet of n villages (CSV rows).
func villageSheetRows(n int) [][]string {
	rows := [][]string{{"村名", "乡镇", "代码", "纬度", "经度"}}
	for i := range n {
		rows = append(rows, []string{villageName(i), fmt.Sprintf("镇%02d", i%20), villageCodeOf(i),
			strconv.FormatFloat(28.5+float64(i%40)*0.02, 'f', 5, 64), strconv.FormatFloat(118.8+float64(i/40)*0.02, 'f', 5, 64)})
	}
	return rows
}

func villageName(i int) string   { return fmt.Sprintf("村%04d", i) }
func villageCodeOf(i int) string { return fmt.Sprintf("3301%08d", i) }

// rosterPhone is the i-th phone of a generated sheet, E.164.
func rosterPhone(i int) string { return fmt.Sprintf("+86139%08d", i) }

// memberSheetRows is a members sheet of n rows over villages villages
// (seeded: the same arguments give the same sheet). Every tenth row has
// no phone; every third a position.
func memberSheetRows(n, villages int, seed uint64) [][]string {
	r := rand.New(rand.NewPCG(seed, 12))
	rows := [][]string{{"姓名", "手机号", "村", "角色", "地址", "纬度", "经度"}}
	for i := range n {
		name := string(surnames[r.IntN(len(surnames))]) + string(given[r.IntN(len(given))])
		if r.IntN(2) == 0 {
			name += string(given[r.IntN(len(given))])
		}
		name += strconv.Itoa(i) // unique, so rows without a phone never collide
		phone := ""
		if i%10 != 9 {
			d := rosterPhone(i)[3:]
			switch i % 3 {
			case 0:
				phone = d
			case 1:
				phone = d[:3] + " " + d[3:7] + " " + d[7:]
			default:
				phone = "+86 " + d
			}
		}
		v := i % villages
		vcell := villageName(v)
		if i%7 == 0 {
			vcell = villageCodeOf(v)
		}
		role := "村民"
		switch {
		case i%500 == 0:
			role = "村干部"
		case i%50 == 0:
			role = "网格员"
		case i%4 == 0:
			role = ""
		}
		lat, lng := "", ""
		if i%3 == 0 {
			lat = strconv.FormatFloat(28.5+float64(v%40)*0.02+r.Float64()*0.01, 'f', 6, 64)
			lng = strconv.FormatFloat(118.8+float64(v/40)*0.02+r.Float64()*0.01, 'f', 6, 64)
		}
		rows = append(rows, []string{name, phone, vcell, role, fmt.Sprintf("%d组%d号", r.IntN(12)+1, r.IntN(80)+1), lat, lng})
	}
	return rows
}

func csvBytes(t testing.TB, rows [][]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// xlsxBytes writes rows to the first sheet of a new XLSX with excelize's
// stream writer (phones as text, as a county keeps them).
func xlsxBytes(t testing.TB, rows [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		cells := make([]any, len(r))
		for j, c := range r {
			cells[j] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, cells); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts a sheet with its Content-Type and decodes the answer.
func (e *testEnv) upload(path, token, ct string, body []byte) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := jsonDecode(bytes.NewReader(raw), &out); err != nil {
		e.t.Fatalf("POST %s: answer is not JSON: %.300s", path, raw)
	}
	return resp.StatusCode, out
}

// report is the "import" object of an answer.
func report(t testing.TB, out map[string]any) map[string]any {
	t.Helper()
	r, ok := out["import"].(map[string]any)
	if !ok {
		t.Fatalf("no import report in %v", out)
	}
	return r
}
