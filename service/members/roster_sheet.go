package members

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Reading a county's spreadsheet (docs/API.md v1.5): CSV (UTF-8 with or
// without a BOM, or GB18030 as Excel saves it on Chinese Windows) or XLSX
// (its first sheet, read row by row with excelize's streaming iterator).
// The first row is the header; columns are found by their header, in
// Chinese or English, case-insensitive.

// Sheet formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// MaxSheetBytes bounds an uploaded sheet; larger is too_large.
const MaxSheetBytes = 64 << 20

// xlsxMaxUnzip bounds what an XLSX may inflate to (a zip bomb stops there).
const xlsxMaxUnzip = 1 << 30

// SheetFormat tells the format of a body from its Content-Type and its
// first bytes (a zip is an XLSX); "" when it is neither.
func SheetFormat(contentType string, body []byte) string {
	if bytes.HasPrefix(body, []byte("PK\x03\x04")) {
		return FormatXLSX
	}
	switch contentType {
	case "text/csv", "text/plain", "application/csv", "text/comma-separated-values", "application/vnd.ms-excel":
		return FormatCSV
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return FormatXLSX
	}
	return ""
}

// sheet yields the rows of a table, header first.
type sheet interface {
	// next returns the next row and its 1-based line; io.EOF at the end.
	next() (line int, cells []string, err error)
	close()
}

// openSheet opens body in format.
func openSheet(format string, body []byte) (sheet, error) {
	switch format {
	case FormatCSV:
		return newCSVSheet(body), nil
	case FormatXLSX:
		return openXLSX(body)
	}
	return nil, service.Invalid("the body must be CSV (Content-Type text/csv) or XLSX")
}

type csvSheet struct {
	r *csv.Reader
}

// newCSVSheet reads CSV text: UTF-8 (a BOM is dropped), else GB18030.
func newCSVSheet(body []byte) *csvSheet {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(body) {
		if dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(body); err == nil {
			body = dec
		}
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true
	return &csvSheet{r: r}
}

func (c *csvSheet) next() (int, []string, error) {
	rec, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return 0, nil, service.Invalid("CSV line %d: %s", pe.Line, pe.Err)
		}
		return 0, nil, service.Invalid("could not read the CSV")
	}
	line, _ := c.r.FieldPos(0)
	return line, rec, nil
}

func (c *csvSheet) close() {}

type xlsxSheet struct {
	f    *excelize.File
	rows *excelize.Rows
	line int
}

func openXLSX(body []byte) (sheet, error) {
	f, err := excelize.OpenReader(bytes.NewReader(body), excelize.Options{UnzipSizeLimit: xlsxMaxUnzip})
	if err != nil {
		return nil, service.Invalid("could not read the XLSX: %s", err)
	}
	names := f.GetSheetList()
	if len(names) == 0 {
		_ = f.Close()
		return nil, service.Invalid("the XLSX has no sheet")
	}
	rows, err := f.Rows(names[0])
	if err != nil {
		_ = f.Close()
		return nil, service.Invalid("could not read the XLSX's first sheet: %s", err)
	}
	return &xlsxSheet{f: f, rows: rows}, nil
}

func (x *xlsxSheet) next() (int, []string, error) {
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return 0, nil, service.Invalid("could not read the XLSX: %s", err)
		}
		return 0, nil, io.EOF
	}
	x.line++
	cells, err := x.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return 0, nil, service.Invalid("XLSX row %d: %s", x.line, err)
	}
	return x.line, cells, nil
}

func (x *xlsxSheet) close() {
	_ = x.rows.Close()
	_ = x.f.Close()
}

// Columns of the members sheet and of the villages sheet.
const (
	colName       = "name"
	colPhone      = "phone"
	colVillage    = "village"
	colRole       = "role"
	colAddress    = "address"
	colLat        = "lat"
	colLng        = "lng"
	colLang       = "lang"
	colTravelMode = "travel_mode"
	colTownship   = "township"
	colCode       = "code"
)

// memberHeaders and villageHeaders map a header (normalized by
// headerKey) to its column.
var memberHeaders = map[string]string{
	"姓名": colName, "name": colName,
	"手机": colPhone, "手机号": colPhone, "手机号码": colPhone, "电话": colPhone, "phone": colPhone,
	"村": colVillage, "村庄": colVillage, "村名": colVillage, "village": colVillage,
	"角色": colRole, "role": colRole,
	"地址": colAddress, "address": colAddress,
	"纬度": colLat, "lat": colLat,
	"经度": colLng, "lng": colLng,
	"语言": colLang, "lang": colLang,
	"出行方式": colTravelMode, "travel_mode": colTravelMode,
}

var villageHeaders = map[string]string{
	"村名": colName, "name": colName,
	"乡镇": colTownship, "township": colTownship,
	"代码": colCode, "code": colCode,
	"纬度": colLat, "lat": colLat,
	"经度": colLng, "lng": colLng,
}

// headerKey normalizes a header cell: no spaces around, lower case, no
// BOM.
func headerKey(s string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(s, "\ufeff")))
}

// header is a sheet's column layout.
type header struct {
	idx      map[string]int
	warnings []string
}

// readHeader maps the header row's cells to columns; required columns
// missing are row errors on line.
func readHeader(cells []string, known map[string]string, required []string, line int) (header, []RowError) {
	h := header{idx: map[string]int{}}
	for i, c := range cells {
		k := headerKey(c)
		if k == "" {
			continue
		}
		col, ok := known[k]
		if !ok {
			h.warnings = append(h.warnings, fmt.Sprintf("未知列 %q 已忽略 (unknown column ignored)", clip(c, 40)))
			continue
		}
		if _, dup := h.idx[col]; dup {
			h.warnings = append(h.warnings, fmt.Sprintf("重复列 %q 已忽略 (duplicate column ignored)", clip(c, 40)))
			continue
		}
		h.idx[col] = i
	}
	var errs []RowError
	for _, col := range required {
		if _, ok := h.idx[col]; !ok {
			errs = append(errs, RowError{Line: line, Field: col, Reason: "缺少此列 (missing column)"})
		}
	}
	return h, errs
}

// cell is the trimmed value of col in a row ("" when absent).
func (h *header) cell(cells []string, col string) string {
	i, ok := h.idx[col]
	if !ok || i >= len(cells) {
		return ""
	}
	return strings.TrimSpace(cells[i])
}

// blank tells whether every cell of a row is empty (skipped).
func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// clip shortens a value echoed in a report.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// NormalizePhone turns a Chinese mobile number as people write it
// (13800000000, 138 0000 0000, 138-0000-0000, +86 138..., 0086 138...)
// into E.164 (+8613800000000); false for anything else.
func NormalizePhone(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '\u00a0' || r == '\u3000':
		case r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "+86"):
		d = d[3:]
	case strings.HasPrefix(d, "0086"):
		d = d[4:]
	case strings.HasPrefix(d, "+"):
		return "", false
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	}
	if len(d) != 11 || d[0] != '1' || d[1] < '3' {
		return "", false
	}
	return "+86" + d, true
}

// PhoneInput normalizes a phone given to the API: a Chinese mobile in any
// form NormalizePhone reads, or any E.164 number.
func PhoneInput(s string) (string, bool) {
	if p, ok := NormalizePhone(s); ok {
		return p, true
	}
	if notify.ValidE164(s) {
		return s, true
	}
	return "", false
}

// roleWords maps a role cell to a role (admin is never imported).
var roleWords = map[string]storage.Role{
	"村民": storage.RoleResident, "居民": storage.RoleResident, "resident": storage.RoleResident,
	"网格员": storage.RolePatrol, "巡查员": storage.RolePatrol, "patrol": storage.RolePatrol,
	"村干部": storage.RoleCadre, "cadre": storage.RoleCadre,
	"指挥员": storage.RoleCommander, "commander": storage.RoleCommander,
}

var langWords = map[string]string{
	"zh-cn": "zh-CN", "zh": "zh-CN", "中文": "zh-CN", "en": "en", "英文": "en", "english": "en",
}

var modeWords = map[string]string{
	geo.ModeWalk: geo.ModeWalk, "步行": geo.ModeWalk,
	geo.ModeBike: geo.ModeBike, "自行车": geo.ModeBike,
	geo.ModeMotorbike: geo.ModeMotorbike, "摩托车": geo.ModeMotorbike, "电动车": geo.ModeMotorbike,
	geo.ModeDrive: geo.ModeDrive, "开车": geo.ModeDrive, "驾车": geo.ModeDrive, "汽车": geo.ModeDrive,
}

// parseCoord reads one coordinate in decimal degrees.
func parseCoord(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil
}

// textOK tells whether a cell is acceptable text of at most max
// characters (CheckText's rules, no newlines in a name).
func textOK(s string, max int) string {
	if err := service.CheckText("x", s, max, true); err != nil {
		return "含无效字符或过长 (invalid characters or longer than " + strconv.Itoa(max) + ")"
	}
	if strings.ContainsAny(s, "\n\r\t") {
		return "含无效字符 (invalid characters)"
	}
	return ""
}
