package members

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// The roster (docs/API.md v1.5, issue 12): a county's villages and members
// imported from its spreadsheet. Every row is checked before anything is
// written; the store then writes the whole sheet in one transaction
// (storage.Roster), matching existing members by phone (or, without one,
// by village, name and address) so that importing a corrected sheet again
// updates instead of duplicating.

// RosterStore is the store's roster part that the service uses.
type RosterStore interface {
	ImportMembers(ctx context.Context, rows []storage.ImportMember, opt storage.ImportOptions) (storage.ImportResult, error)
	ImportVillages(ctx context.Context, rows []storage.Village, opt storage.ImportOptions) (storage.ImportResult, error)
	EditMember(ctx context.Context, id string, e storage.MemberEdit) (storage.Member, error)
	FindMembers(ctx context.Context, f storage.MemberFilter) ([]storage.Member, error)
	GetVillage(ctx context.Context, id string) (storage.Village, error)
}

// MaxReportErrors caps the row errors an import report lists
// (ImportReport.ErrorsTotal counts them all).
const MaxReportErrors = 1000

// importProgressEvery is how often (in rows) an import logs its progress.
const importProgressEvery = 20000

// RowError is one problem of one row of a sheet.
type RowError struct {
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

// ImportReport is what an import did, or with errors why it did nothing;
// it is the "import" object of docs/API.md v1.5 as it is.
type ImportReport struct {
	DryRun      bool       `json:"dry_run"`
	Rows        int        `json:"rows"`
	Created     int        `json:"created"`
	Updated     int        `json:"updated"`
	Unchanged   int        `json:"unchanged"`
	Errors      []RowError `json:"errors"`
	ErrorsTotal int        `json:"errors_total"`
	Warnings    []string   `json:"warnings"`
}

func (r *ImportReport) fail(e RowError) {
	r.ErrorsTotal++
	if len(r.Errors) < MaxReportErrors {
		e.Value = clip(e.Value, 100)
		r.Errors = append(r.Errors, e)
	}
}

// errImportRows is the error of an import whose rows have errors (the
// report says which); nothing was written.
func errImportRows(r *ImportReport) error {
	return service.Invalid("%d rows have errors", r.ErrorsTotal)
}

// Importer is who imports: its role decides what the sheet may hold.
type Importer struct {
	ID   string
	Role storage.Role
}

// villageIndex resolves a village cell: an id, a code, or a name that
// only one village has.
type villageIndex struct {
	byID   map[string]*storage.Village
	byCode map[string]*storage.Village
	byName map[string][]*storage.Village
}

func newVillageIndex(vs []storage.Village) *villageIndex {
	x := &villageIndex{byID: map[string]*storage.Village{}, byCode: map[string]*storage.Village{},
		byName: map[string][]*storage.Village{}}
	for i := range vs {
		v := &vs[i]
		x.byID[v.ID] = v
		if v.Code != "" {
			x.byCode[v.Code] = v
		}
		x.byName[v.Name] = append(x.byName[v.Name], v)
	}
	return x
}

func (x *villageIndex) resolve(s string) (*storage.Village, string) {
	if v := x.byID[s]; v != nil {
		return v, ""
	}
	if v := x.byCode[s]; v != nil {
		return v, ""
	}
	switch vs := x.byName[s]; len(vs) {
	case 0:
		return nil, "未知村庄 (unknown village: give its id, name or code)"
	case 1:
		return vs[0], ""
	}
	return nil, "多个村庄同名，请填写村代码 (several villages have this name; give its code)"
}

// memberRow decodes one data row of a members sheet into rec; it adds the
// row's errors to rep and tells whether it had none.
func memberRow(h *header, cells []string, line int, vx *villageIndex, by storage.Role, rec *storage.ImportMember, rep *ImportReport) bool {
	ok := true
	bad := func(field, value, reason string) {
		rep.fail(RowError{Line: line, Field: field, Value: value, Reason: reason})
		ok = false
	}
	m := &rec.Member
	*rec = storage.ImportMember{Line: line}
	m.Name = h.cell(cells, colName)
	if m.Name == "" {
		bad(colName, "", "姓名必填 (name is required)")
	} else if why := textOK(m.Name, 100); why != "" {
		bad(colName, m.Name, why)
	}
	if p := h.cell(cells, colPhone); p != "" {
		if e, good := NormalizePhone(p); good {
			m.Phone = e
		} else {
			bad(colPhone, p, "无效手机号，应为 11 位手机号码 (invalid phone: an 11-digit Chinese mobile number)")
		}
	}
	if vs := h.cell(cells, colVillage); vs == "" {
		bad(colVillage, "", "村庄必填 (village is required)")
	} else if v, why := vx.resolve(vs); v == nil {
		bad(colVillage, vs, why)
	} else {
		m.VillageID = v.ID
	}
	if rs := h.cell(cells, colRole); rs != "" {
		r, known := roleWords[headerKey(rs)]
		switch {
		case !known:
			bad(colRole, rs, "角色应为 村民、网格员、村干部 或 指挥员 (role must be resident, patrol, cadre or commander)")
		case r == storage.RoleCommander && by != storage.RoleAdmin:
			bad(colRole, rs, "只有管理员可以导入指挥员 (only an admin may import commanders)")
		default:
			m.Role = r
		}
	}
	if a := h.cell(cells, colAddress); a != "" {
		if why := textOK(a, MaxAddress); why != "" {
			bad(colAddress, a, why)
		} else {
			m.Address = a
		}
	}
	lat, lng := h.cell(cells, colLat), h.cell(cells, colLng)
	switch {
	case lat == "" && lng == "":
	case lat == "" || lng == "":
		field := colLat
		if lat != "" {
			field = colLng
		}
		bad(field, "", "纬度和经度须同时填写 (lat and lng go together)")
	default:
		la, ok1 := parseCoord(lat)
		ln, ok2 := parseCoord(lng)
		switch {
		case !ok1 || la < -90 || la > 90:
			bad(colLat, lat, "纬度应在 -90 到 90 之间 (lat must be in [-90, 90])")
		case !ok2 || ln < -180 || ln > 180:
			bad(colLng, lng, "经度应在 -180 到 180 之间 (lng must be in [-180, 180])")
		default:
			m.Home = &storage.LatLng{Lat: la, Lng: ln}
		}
	}
	if l := h.cell(cells, colLang); l != "" {
		if v, known := langWords[headerKey(l)]; known {
			m.Lang = v
		} else {
			bad(colLang, l, "语言应为 zh-CN 或 en (lang must be zh-CN or en)")
		}
	}
	if t := h.cell(cells, colTravelMode); t != "" {
		if v, known := modeWords[headerKey(t)]; known {
			m.TravelMode = v
		} else {
			bad(colTravelMode, t, "出行方式应为 walk、bike、motorbike 或 drive (travel_mode must be walk, bike, motorbike or drive)")
		}
	}
	return ok
}

// rowKey is what identifies a row of a members sheet: its phone, else
// its village, name and address.
func rowKey(m *storage.Member) string {
	if m.Phone != "" {
		return m.Phone
	}
	return addrKey(m)
}

func addrKey(m *storage.Member) string { return m.VillageID + "\x00" + m.Name + "\x00" + m.Address }

// ImportMembers checks a members sheet (body in format) and, unless dry
// or any row has an error, writes it (docs/API.md v1.5). With row errors
// it returns the report and a bad_request saying how many rows have them.
func (s *Service) ImportMembers(ctx context.Context, format string, body []byte, dryRun bool, by Importer) (*ImportReport, error) {
	start := time.Now()
	sh, err := openSheet(format, body)
	if err != nil {
		return nil, err
	}
	defer sh.close()
	vs, err := s.store.ListVillages(ctx)
	if err != nil {
		return nil, err
	}
	rows, rep, err := readMemberSheet(ctx, sh, newVillageIndex(vs), by.Role, s.now(), func(n, errs int) {
		s.log.InfoContext(ctx, "import members: rows read", slog.Int("rows", n), slog.Int("errors", errs))
	})
	if rep != nil {
		rep.DryRun = dryRun
	}
	if err != nil {
		return rep, err
	}
	protect := []storage.Role{storage.RoleAdmin}
	if by.Role != storage.RoleAdmin {
		protect = append(protect, storage.RoleCommander)
	}
	parsed := time.Since(start)
	res, err := s.store.ImportMembers(ctx, rows, storage.ImportOptions{DryRun: dryRun, Protect: protect})
	if err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, service.Errorf(service.CodeConflict, "the roster changed during the import; try again")
		}
		return nil, err
	}
	if len(res.Protected) > 0 {
		byLine := make(map[int]*storage.Member, len(res.Protected))
		for i := range rows {
			byLine[rows[i].Line] = &rows[i].Member
		}
		for _, l := range res.Protected {
			rep.fail(RowError{Line: l, Field: colPhone, Value: byLine[l].Phone,
				Reason: "此号码属于指挥员或管理员，不能由导入修改 (this phone is a commander's or admin's; an import does not change it)"})
		}
		return rep, errImportRows(rep)
	}
	rep.Created, rep.Updated, rep.Unchanged = res.Created, res.Updated, res.Unchanged
	stored := time.Since(start) - parsed
	if !dryRun {
		if err := s.refresh(ctx, res.Changed, rows); err != nil {
			return nil, err
		}
	}
	s.log.InfoContext(ctx, "import members", slog.Bool("dry_run", dryRun), slog.Int("rows", rep.Rows),
		slog.Int64("store_ms", stored.Milliseconds()),
		slog.Int("created", rep.Created), slog.Int("updated", rep.Updated), slog.Int("unchanged", rep.Unchanged),
		slog.String("by", by.ID), slog.Int64("parse_ms", parsed.Milliseconds()),
		slog.Int64("total_ms", time.Since(start).Milliseconds()))
	return rep, nil
}

// readMemberSheet reads and checks every row of a members sheet: the
// rows to write, and the report (with errors: a bad_request error too,
// and no rows). progress is told every importProgressEvery rows.
func readMemberSheet(ctx context.Context, sh sheet, vx *villageIndex, by storage.Role, now time.Time,
	progress func(rows, errs int)) ([]storage.ImportMember, *ImportReport, error) {
	rep := &ImportReport{Errors: []RowError{}, Warnings: []string{}}
	line, cells, err := sh.next()
	if errors.Is(err, io.EOF) {
		return nil, nil, service.Invalid("the sheet is empty: the first row must be the header")
	}
	if err != nil {
		return nil, nil, err
	}
	h, herrs := readHeader(cells, memberHeaders, []string{colName, colVillage}, line)
	rep.Warnings = append(rep.Warnings, h.warnings...)
	for _, e := range herrs {
		rep.fail(e)
	}
	if rep.ErrorsTotal > 0 {
		return nil, rep, errImportRows(rep)
	}
	var rows []storage.ImportMember
	seen := map[string]int{} // row key -> line
	for {
		line, cells, err := sh.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if blank(cells) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		rep.Rows++
		if rep.Rows%importProgressEvery == 0 {
			progress(rep.Rows, rep.ErrorsTotal)
		}
		var rec storage.ImportMember
		if !memberRow(&h, cells, line, vx, by, &rec, rep) {
			continue
		}
		k := rowKey(&rec.Member)
		if first, dup := seen[k]; dup {
			field, value := colPhone, rec.Member.Phone
			if value == "" {
				field, value = colName, rec.Member.Name
			}
			rep.fail(RowError{Line: line, Field: field, Value: value,
				Reason: fmt.Sprintf("与第 %d 行重复 (duplicate of line %d)", first, first)})
			continue
		}
		seen[k] = line
		rec.Member.ID, rec.Member.CreatedAt = service.NewID("m_"), now
		rows = append(rows, rec)
	}
	if rep.Rows == 0 && rep.ErrorsTotal == 0 {
		return nil, nil, service.Invalid("the sheet has a header but no rows")
	}
	if rep.ErrorsTotal > 0 {
		return nil, rep, errImportRows(rep)
	}
	// A row with a phone that matches no member may be a member imported
	// before without one (same village, name, address): the first such
	// row takes it, unless a row without a phone names it.
	for i := range rows {
		m := &rows[i].Member
		if m.Phone == "" {
			continue
		}
		if _, taken := seen[addrKey(m)]; !taken {
			rows[i].ByKey = true
			seen[addrKey(m)] = rows[i].Line
		}
	}
	return rows, rep, nil
}

// refreshPage is how many changed members a refresh reads at once.
const refreshPage = 5000

// refresh puts the members of ids, as stored, into the directory (every
// node's) and runs the move-in checks of the active alerts. A member the
// import created is exactly its row (no live position, active), so only
// the updated ones are read back.
func (s *Service) refresh(ctx context.Context, ids []string, rows []storage.ImportMember) error {
	now := s.now()
	created := make(map[string]*storage.Member, len(rows))
	for i := range rows {
		created[rows[i].Member.ID] = &rows[i].Member
	}
	var read []string
	for n, id := range ids {
		if n > 0 && n%importProgressEvery == 0 {
			s.log.InfoContext(ctx, "import members: directory updated", slog.Int("members", n))
		}
		m := created[id]
		if m == nil {
			read = append(read, id)
			continue
		}
		if m.Role == "" {
			m.Role = storage.RoleResident
		}
		s.dir.Add(m, now)
		s.moved(ctx, id)
	}
	for start := 0; start < len(read); start += refreshPage {
		ms, err := s.store.GetMembers(ctx, read[start:min(start+refreshPage, len(read))])
		if err != nil {
			return err
		}
		for i := range ms {
			s.dir.Add(&ms[i], now)
			if !ms[i].Inactive {
				s.moved(ctx, ms[i].ID)
			}
		}
	}
	return nil
}

// villageCode is an administrative division code: 6 to 12 digits.
var villageCode = regexp.MustCompile(`^[0-9]{6,12}$`)

// CheckVillageCode validates a village code ("" allowed).
func CheckVillageCode(code string) error {
	if code != "" && !villageCode.MatchString(code) {
		return service.Invalid("code must be 6 to 12 digits (an administrative division code)")
	}
	return nil
}

// villageRow decodes one data row of a villages sheet.
func villageRow(h *header, cells []string, line int, v *storage.Village, rep *ImportReport) bool {
	ok := true
	bad := func(field, value, reason string) {
		rep.fail(RowError{Line: line, Field: field, Value: value, Reason: reason})
		ok = false
	}
	v.Name, v.Township, v.Code = h.cell(cells, colName), h.cell(cells, colTownship), h.cell(cells, colCode)
	if v.Name == "" {
		bad(colName, "", "村名必填 (name is required)")
	} else if why := textOK(v.Name, 100); why != "" {
		bad(colName, v.Name, why)
	}
	if why := textOK(v.Township, 100); why != "" {
		bad(colTownship, v.Township, why)
	}
	if CheckVillageCode(v.Code) != nil {
		bad(colCode, v.Code, "代码应为 6 到 12 位数字 (code must be 6 to 12 digits)")
	}
	lat, lng := h.cell(cells, colLat), h.cell(cells, colLng)
	la, ok1 := parseCoord(lat)
	ln, ok2 := parseCoord(lng)
	switch {
	case lat == "":
		bad(colLat, "", "纬度必填 (lat is required)")
	case !ok1 || la < -90 || la > 90:
		bad(colLat, lat, "纬度应在 -90 到 90 之间 (lat must be in [-90, 90])")
	}
	switch {
	case lng == "":
		bad(colLng, "", "经度必填 (lng is required)")
	case !ok2 || ln < -180 || ln > 180:
		bad(colLng, lng, "经度应在 -180 到 180 之间 (lng must be in [-180, 180])")
	}
	v.Center = storage.LatLng{Lat: la, Lng: ln}
	return ok
}

// ImportVillages checks a villages sheet and, unless dry or any row has an
// error, writes it (docs/API.md v1.5); like ImportMembers.
func (s *Service) ImportVillages(ctx context.Context, format string, body []byte, dryRun bool, by Importer) (*ImportReport, error) {
	sh, err := openSheet(format, body)
	if err != nil {
		return nil, err
	}
	defer sh.close()
	rep := &ImportReport{DryRun: dryRun, Errors: []RowError{}, Warnings: []string{}}
	line, cells, err := sh.next()
	if errors.Is(err, io.EOF) {
		return nil, service.Invalid("the sheet is empty: the first row must be the header")
	}
	if err != nil {
		return nil, err
	}
	h, herrs := readHeader(cells, villageHeaders, []string{colName, colLat, colLng}, line)
	rep.Warnings = append(rep.Warnings, h.warnings...)
	for _, e := range herrs {
		rep.fail(e)
	}
	if rep.ErrorsTotal > 0 {
		return rep, errImportRows(rep)
	}
	now := s.now()
	var rows []storage.Village
	seen := map[string]int{}
	for {
		line, cells, err := sh.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if blank(cells) {
			continue
		}
		rep.Rows++
		var v storage.Village
		if !villageRow(&h, cells, line, &v, rep) {
			continue
		}
		k := "c\x00" + v.Code
		if v.Code == "" {
			k = "n\x00" + v.Township + "\x00" + v.Name
		}
		if first, dup := seen[k]; dup {
			rep.fail(RowError{Line: line, Field: colName, Value: v.Name,
				Reason: fmt.Sprintf("与第 %d 行重复 (duplicate of line %d)", first, first)})
			continue
		}
		seen[k] = line
		v.ID, v.CreatedAt = service.NewID("v_"), now
		rows = append(rows, v)
	}
	if rep.Rows == 0 && rep.ErrorsTotal == 0 {
		return nil, service.Invalid("the sheet has a header but no rows")
	}
	if rep.ErrorsTotal > 0 {
		return rep, errImportRows(rep)
	}
	res, err := s.store.ImportVillages(ctx, rows, storage.ImportOptions{DryRun: dryRun})
	if err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, service.Errorf(service.CodeConflict, "a village code in the sheet is another village's")
		}
		return nil, err
	}
	rep.Created, rep.Updated, rep.Unchanged = res.Created, res.Updated, res.Unchanged
	if !dryRun {
		for _, id := range res.Changed {
			v, err := s.store.GetVillage(ctx, id)
			if err != nil {
				return nil, err
			}
			s.dir.SetVillage(&v, now)
		}
	}
	s.log.InfoContext(ctx, "import villages", slog.Bool("dry_run", dryRun), slog.Int("rows", rep.Rows),
		slog.Int("created", rep.Created), slog.Int("updated", rep.Updated), slog.String("by", by.ID))
	return rep, nil
}
