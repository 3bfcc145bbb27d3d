package credit

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/longyou/hub/storage"
)

// ExportHeader is the header row of the credit export (docs/API.md v1.6):
// household id, village id, village name, household name, balance, credit
// level, number of entries.
var ExportHeader = []string{"户编号", "村编号", "村名", "户名", "积分余额", "信用等级", "积分记录数"}

// bom starts the export so that Excel reads it as UTF-8.
const bom = "\uFEFF"

// Cell makes a text safe for a spreadsheet: a cell starting with = + - @
// (or a tab or carriage return) would be run as a formula by Excel, so it
// gets a leading apostrophe (OWASP "CSV injection").
func Cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteExport writes the credit export: the BOM, the header, one row per
// balance. villageName names the villages (an id it does not know is left
// blank).
func (s *Service) WriteExport(w io.Writer, bs []storage.CreditBalance, villageName map[string]string) error {
	if _, err := io.WriteString(w, bom); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // Excel's line ends
	if err := cw.Write(ExportHeader); err != nil {
		return err
	}
	for _, b := range bs {
		if err := cw.Write([]string{Cell(b.HouseholdID), Cell(b.VillageID), Cell(villageName[b.VillageID]), Cell(b.Name),
			strconv.Itoa(b.Balance), Cell(s.rules().Level(b.Balance)), strconv.Itoa(b.Entries)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
