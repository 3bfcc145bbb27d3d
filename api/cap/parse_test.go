package cap

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The OASIS CAP 1.2 specification's Appendix A examples, as written there.
func TestParseOASISExamples(t *testing.T) {
	t.Parallel()
	pdt := time.FixedZone("", -7*3600)
	tests := []struct {
		file  string
		check func(t *testing.T, a *Alert)
	}{
		{"oasis-a1-hsas.xml", func(t *testing.T, a *Alert) {
			if a.Identifier != "43b080713727" || a.Sender != "hsas@dhs.gov" {
				t.Errorf("identifier, sender = %q, %q", a.Identifier, a.Sender)
			}
			if want := time.Date(2003, 4, 2, 14, 39, 1, 0, time.FixedZone("", -5*3600)); !a.Sent.Equal(want) {
				t.Errorf("sent = %v, want %v", a.Sent, want)
			}
			in := a.Infos[0]
			if !slices.Equal(in.Categories, []Category{CategorySecurity}) || in.Severity != SeveritySevere ||
				in.Certainty != CertaintyLikely || in.Urgency != UrgencyImmediate {
				t.Errorf("info = %+v", in)
			}
			if !strings.HasPrefix(in.Instruction, "A High Condition") {
				t.Errorf("instruction not trimmed: %q", in.Instruction)
			}
			if want := (ValuePair{"HSAS", "ORANGE"}); len(in.Parameters) != 1 || in.Parameters[0] != want {
				t.Errorf("parameters = %v", in.Parameters)
			}
			want := Resource{ResourceDesc: "Image file (GIF)", MimeType: "image/gif", URI: "http://www.dhs.gov/dhspublic/getAdvisoryImage"}
			if len(in.Resources) != 1 || in.Resources[0] != want {
				t.Errorf("resources = %+v", in.Resources)
			}
			if len(in.Areas) != 1 || in.Areas[0].AreaDesc != "U.S. nationwide and interests worldwide" ||
				in.Areas[0].Polygons != nil || in.Areas[0].Circles != nil {
				t.Errorf("areas = %+v", in.Areas)
			}
			if s := a.Shapes(); len(s) != 0 {
				t.Errorf("shapes = %v, want none", s)
			}
		}},
		{"oasis-a2-thunderstorm.xml", func(t *testing.T, a *Alert) {
			in := a.Infos[0]
			if !slices.Equal(in.ResponseTypes, []ResponseType{ResponseShelter}) || in.Event != "SEVERE THUNDERSTORM" {
				t.Errorf("info = %+v", in)
			}
			if want := time.Date(2003, 6, 17, 16, 0, 0, 0, pdt); !in.Expires.Equal(want) {
				t.Errorf("expires = %v", in.Expires)
			}
			if len(in.EventCodes) != 1 || in.EventCodes[0] != (ValuePair{"SAME", "SVR"}) {
				t.Errorf("eventCodes = %v", in.EventCodes)
			}
			ar := in.Areas[0]
			want := Polygon{{38.47, -120.14}, {38.34, -119.95}, {38.52, -119.74}, {38.62, -119.89}, {38.47, -120.14}}
			if len(ar.Polygons) != 1 || !slices.Equal(ar.Polygons[0], want) {
				t.Errorf("polygons = %v", ar.Polygons)
			}
			if len(ar.Geocodes) != 3 || ar.Geocodes[2] != (ValuePair{"SAME", "006003"}) {
				t.Errorf("geocodes = %v", ar.Geocodes)
			}
			if dc := a.DivisionCodes(); len(dc) != 0 {
				t.Errorf("SAME codes read as division codes: %v", dc)
			}
			if in.Contact != "BARUFFALDI/JUSKIE" {
				t.Errorf("contact = %q", in.Contact)
			}
		}},
		{"oasis-a3-earthquake.xml", func(t *testing.T, a *Alert) {
			if a.MsgType != MsgUpdate {
				t.Errorf("msgType = %q", a.MsgType)
			}
			want := []Reference{{"trinet@caltech.edu", "TRI13970876.1", time.Date(2003, 6, 11, 20, 30, 0, 0, pdt)}}
			if len(a.References) != 1 || a.References[0].Sender != want[0].Sender ||
				a.References[0].Identifier != want[0].Identifier || !a.References[0].Sent.Equal(want[0].Sent) {
				t.Errorf("references = %+v", a.References)
			}
			in := a.Infos[0]
			if len(in.Parameters) != 5 || in.Parameters[2] != (ValuePair{"Magnitude", "3.4 Ml"}) {
				t.Errorf("parameters = %v", in.Parameters)
			}
			if c := in.Areas[0].Circles; len(c) != 1 || c[0] != (Circle{32.9525, -115.5527, 0}) {
				t.Errorf("circles = %v", c)
			}
		}},
		{"oasis-a4-amber.xml", func(t *testing.T, a *Alert) {
			if a.Source != "SW" || len(a.Infos) != 2 {
				t.Fatalf("source %q, %d infos", a.Source, len(a.Infos))
			}
			if a.Infos[0].Language != "en-US" || a.Infos[1].Language != "es-US" {
				t.Errorf("languages %q %q", a.Infos[0].Language, a.Infos[1].Language)
			}
			if a.Infos[1].Event != "Abducción de Niño" {
				t.Errorf("event = %q", a.Infos[1].Event)
			}
			if !strings.Contains(a.Infos[0].Description, `3'0", 40 LBS.`) {
				t.Errorf("description = %q", a.Infos[0].Description)
			}
			if got := a.InfoFor("es"); got != &a.Infos[1] {
				t.Errorf("InfoFor(es) = %v", got.Language)
			}
			if got := a.InfoFor("zh-CN"); got != &a.Infos[0] {
				t.Errorf("InfoFor(zh-CN) without Chinese = %v, want the first", got.Language)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			a := mustParseFile(t, tt.file)
			if a.Status != StatusActual || a.Scope != ScopePublic {
				t.Errorf("status, scope = %q, %q", a.Status, a.Scope)
			}
			tt.check(t, a)
		})
	}
}

// A China Meteorological Administration–style warning: zh-CN and en-US
// info blocks, a 61-point polygon repeated in both, GB/T 2260 and
// statistical division codes.
func TestParseCMAWarning(t *testing.T) {
	t.Parallel()
	a := mustParseFile(t, "cma-rainstorm-orange.xml")
	if a.Identifier != "33082541600000_20260615083000" || a.Source != "龙游县气象台" || !slices.Equal(a.Codes, []string{"12379"}) {
		t.Errorf("alert = %+v", a)
	}
	cst := time.FixedZone("", 8*3600)
	if want := time.Date(2026, 6, 15, 8, 30, 0, 0, cst); !a.Sent.Equal(want) {
		t.Errorf("sent = %v", a.Sent)
	}
	if _, off := a.Sent.Zone(); off != 8*3600 {
		t.Errorf("sent offset = %d, want +08:00 kept", off)
	}
	if len(a.Infos) != 2 {
		t.Fatalf("%d infos", len(a.Infos))
	}
	zh, en := &a.Infos[0], &a.Infos[1]
	if zh.Lang() != "zh-CN" || en.Lang() != "en-US" {
		t.Errorf("languages %q %q", zh.Lang(), en.Lang())
	}
	if zh.Event != "暴雨" || zh.Severity != SeveritySevere || zh.Urgency != UrgencyExpected ||
		!slices.Equal(zh.ResponseTypes, []ResponseType{ResponsePrepare, ResponseAvoid}) {
		t.Errorf("zh = %+v", zh)
	}
	if !strings.Contains(zh.Instruction, "；\n2. 切断") {
		t.Errorf("instruction lost its lines: %q", zh.Instruction)
	}
	p := zh.Areas[0].Polygons[0]
	if len(p) != 61 || p[0] != p[60] || p[0] != [2]float64{29.03, 119.2988} {
		t.Errorf("polygon: %d points, first %v last %v", len(p), p[0], p[len(p)-1])
	}
	if got := len(a.Shapes()); got != 1 {
		t.Errorf("Shapes: %d, want the repeated polygon once", got)
	}
	if got := a.InfoFor(""); got != zh {
		t.Errorf("InfoFor(\"\") = %s, want zh-CN", got.Lang())
	}
	if got := a.InfoFor("en"); got != en {
		t.Errorf("InfoFor(en) = %s", got.Lang())
	}
	if HubSeverity(zh.Severity) != "severe" || Title(zh) != "龙游县气象台发布暴雨橙色预警[II级/严重]" {
		t.Errorf("severity %q, title %q", HubSeverity(zh.Severity), Title(zh))
	}
	if want := time.Date(2026, 6, 15, 20, 30, 0, 0, cst); !a.ExpiresAt(time.Time{}).Equal(want) {
		t.Errorf("ExpiresAt = %v", a.ExpiresAt(time.Time{}))
	}
	want := []DivisionCode{
		{Code: "330825", Prefix: "330825", Level: "county"},
		{Code: "330825100000", Prefix: "330825100", Level: "township"},
		{Code: "330825104201", Prefix: "330825104201", Level: "village"},
	}
	if got := a.DivisionCodes(); !slices.Equal(got, want) {
		t.Errorf("DivisionCodes = %+v\nwant %+v", got, want)
	}
}

// An Update and a Cancel referring to the earlier messages.
func TestParseUpdateAndCancel(t *testing.T) {
	t.Parallel()
	orig := mustParseFile(t, "cma-rainstorm-orange.xml")
	up := mustParseFile(t, "cma-rainstorm-red-update.xml")
	if up.MsgType != MsgUpdate || len(up.References) != 1 {
		t.Fatalf("update: %s, %d references", up.MsgType, len(up.References))
	}
	if r := up.References[0]; r.Sender != orig.Sender || r.Identifier != orig.Identifier || !r.Sent.Equal(orig.Sent) {
		t.Errorf("update refers to %+v, not the original", r)
	}
	if HubSeverity(up.Infos[0].Severity) != "extreme" {
		t.Errorf("update severity %q", up.Infos[0].Severity)
	}
	shapes := up.Shapes()
	if len(shapes) != 2 || len(shapes[0].Polygon) != 7 || shapes[1].Circle == nil ||
		*shapes[1].Circle != (Disc{Lat: 29.03, Lng: 119.17, RadiusM: 2500}) {
		t.Errorf("update shapes = %+v", shapes)
	}

	cancel := mustParseFile(t, "cma-rainstorm-cancel.xml")
	if cancel.MsgType != MsgCancel || len(cancel.References) != 2 {
		t.Fatalf("cancel: %s, %d references", cancel.MsgType, len(cancel.References))
	}
	if cancel.References[0].Identifier != orig.Identifier || cancel.References[1].Identifier != up.Identifier ||
		!cancel.References[1].Sent.Equal(up.Sent) {
		t.Errorf("cancel refers to %+v", cancel.References)
	}
	if HubKind(&cancel.Infos[0]) != "all_clear" || HubKind(&up.Infos[0]) != "warning" {
		t.Errorf("kinds: cancel %q, update %q", HubKind(&cancel.Infos[0]), HubKind(&up.Infos[0]))
	}
}

// CAP 1.1: its namespace, "Very Likely", a resource without mimeType.
func TestParseCAP11(t *testing.T) {
	t.Parallel()
	a := mustParseFile(t, "cap11-flood-exercise.xml")
	if !a.Exercise() || a.Note != "汛期应急演练" || a.Incidents != "FLOOD-2026-06" {
		t.Errorf("alert = %+v", a)
	}
	in := a.Infos[0]
	if in.Certainty != CertaintyLikely {
		t.Errorf("certainty %q, want Very Likely read as Likely", in.Certainty)
	}
	if !slices.Equal(in.Categories, []Category{CategoryMet, CategoryEnv}) || in.Audience != "沿溪村民" {
		t.Errorf("info = %+v", in)
	}
	if r := in.Resources[0]; r.MimeType != "application/octet-stream" || r.Size != 20480 {
		t.Errorf("resource = %+v", r)
	}
	ar := in.Areas[0]
	if len(ar.Circles) != 2 || ar.Altitude == nil || *ar.Altitude != 50 || ar.Ceiling == nil || *ar.Ceiling != 300.5 {
		t.Errorf("area = %+v", ar)
	}
	if dc := a.DivisionCodes(); len(dc) != 1 || dc[0].Prefix != "330825" {
		t.Errorf("DivisionCodes (ADCODE) = %v", dc)
	}
}

// No namespace, a BOM, "Z" times with fractions, polygons over many lines
// and with spaces after commas, an extension element.
func TestParseNoNamespace(t *testing.T) {
	t.Parallel()
	a := mustParseFile(t, "nonamespace-z-times.xml")
	if a.Status != StatusTest || !a.Exercise() || a.Scope != ScopeRestricted || a.Restriction != "county staff only" {
		t.Errorf("alert = %+v", a)
	}
	if a.Addresses != `"command center" patrol-3` {
		t.Errorf("addresses = %q", a.Addresses)
	}
	if a.Note != "" {
		t.Errorf("note = %q: an ext:note was read as CAP's", a.Note)
	}
	if want := time.Date(2026, 6, 16, 1, 0, 0, 250e6, time.UTC); !a.Sent.Equal(want) || a.Sent.Location() != time.UTC {
		t.Errorf("sent = %v, want %v", a.Sent, want)
	}
	in := a.Infos[0]
	if in.Expires.Nanosecond() != 500e6 || in.Description != "Test message." || in.Severity != SeverityUnknown {
		t.Errorf("info = %+v", in)
	}
	if HubSeverity(in.Severity) != "minor" {
		t.Errorf("Unknown maps to %q", HubSeverity(in.Severity))
	}
	ar := in.Areas[0]
	if len(ar.Polygons) != 2 || len(ar.Polygons[0]) != 61 {
		t.Fatalf("polygons = %v", ar.Polygons)
	}
	if want := (Polygon{{28.90, 119.30}, {28.92, 119.32}, {28.88, 119.33}, {28.90, 119.30}}); !slices.Equal(ar.Polygons[1], want) {
		t.Errorf("spaced polygon = %v", ar.Polygons[1])
	}
	if want := []Circle{{28.90, 119.31, 0.8}}; !slices.Equal(ar.Circles, want) {
		t.Errorf("circles = %v", ar.Circles)
	}
}

// Small variants real feeds produce, each parsed to the same alert.
func TestParseLenient(t *testing.T) {
	t.Parallel()
	const body = `<identifier>x1</identifier><sender>s@example.org</sender><sent>%SENT%</sent>
<status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
<info><language>%LANG%</language><category>Met</category><event>Fog</event><urgency>Future</urgency>
<severity>Minor</severity><certainty>Possible</certainty>
<area><areaDesc>d</areaDesc><circle>29.03,119.17 1</circle></area></info>`
	doc := func(open, sent, lang, close string) string {
		s := strings.NewReplacer("%SENT%", sent, "%LANG%", lang).Replace(body)
		return open + s + close
	}
	std := `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">`
	want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 8*3600))
	tests := []struct{ name, doc string }{
		{"standard", doc(std, "2026-01-02T03:04:05+08:00", "zh-CN", `</alert>`)},
		{"prefixed namespace", strings.NewReplacer("</", "</cap:", "<", "<cap:").Replace(
			doc(`<alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">`, "2026-01-02T03:04:05+08:00", "zh-CN", `</alert>`))},
		{"prefixed root only", strings.Replace(
			doc(`<cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.1">`, "2026-01-02T03:04:05+08:00", "zh-CN", `</cap:alert>`),
			"</info>", `</info><x:note xmlns:x="urn:x">foreign</x:note>`, 1)},
		{"offset without colon", doc(std, "2026-01-02T03:04:05+0800", "zh-CN", `</alert>`)},
		{"space for T", doc(std, "2026-01-02 03:04:05+08:00", "zh-CN", `</alert>`)},
		{"Z", doc(std, "2026-01-01T19:04:05Z", "zh-CN", `</alert>`)},
		{"underscore language", doc(std, "2026-01-02T03:04:05+08:00", "zh_CN", `</alert>`)},
		{"white space around values", strings.ReplaceAll(doc(std, "2026-01-02T03:04:05+08:00", "zh-CN", `</alert>`), "</", "\n  </")},
		{"comments and PIs", `<?xml version="1.0"?><!-- c --><?pi x?>` + doc(std, "2026-01-02T03:04:05+08:00", "zh-CN", `</alert>`) + "<!-- after -->\n"},
		{"latin-1 declaration", `<?xml version="1.0" encoding="ISO-8859-1"?>` + doc(std, "2026-01-02T03:04:05+08:00", "zh-CN", `</alert>`)},
		{"signature ignored", doc(std, "2026-01-02T03:04:05+08:00", "zh-CN",
			`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><note>x</note></Signature></alert>`)},
		{"elements out of order", `<alert><scope>Public</scope><msgType>Alert</msgType><status>Actual</status>
<sent>2026-01-02T03:04:05+08:00</sent><sender>s@example.org</sender><identifier>x1</identifier>
<info><area><circle>29.03,119.17 1</circle><areaDesc>d</areaDesc></area><certainty>Possible</certainty>
<severity>Minor</severity><urgency>Future</urgency><event>Fog</event><category>Met</category><language>zh-CN</language></info></alert>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !a.Sent.Equal(want) || a.Identifier != "x1" || a.Infos[0].Lang() != "zh-CN" ||
				a.Infos[0].Areas[0].Circles[0] != (Circle{29.03, 119.17, 1}) || a.Note != "" {
				t.Errorf("alert = %+v", a)
			}
		})
	}
}

func TestParseTimes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // RFC 3339; empty: refused
	}{
		{"2026-06-15T08:30:00+08:00", "2026-06-15T08:30:00+08:00"},
		{"2026-06-15T08:30:00-00:00", "2026-06-15T08:30:00Z"},
		{"2026-06-15T08:30:00+00:00", "2026-06-15T08:30:00Z"},
		{"2026-06-15T08:30:00Z", "2026-06-15T08:30:00Z"},
		{"2026-06-15t08:30:00z", "2026-06-15T08:30:00Z"},
		{"2026-06-15T08:30:00.123456789123+05:30", "2026-06-15T08:30:00.123456789+05:30"},
		{"2026-06-15T08:30:00,5-03:00", "2026-06-15T08:30:00.5-03:00"},
		{"2026-06-15T08:30:00+14:00", "2026-06-15T08:30:00+14:00"},
		{" 2026-06-15T08:30:00+0800 ", "2026-06-15T08:30:00+08:00"},
		{"2026-06-15T08:30:00", ""},
		{"2026-06-15T08:30:00+08", ""},
		{"2026-06-15T08:30:00+15:00", ""},
		{"2026-06-15T08:30:00+08:60", ""},
		{"2026-06-15T24:30:00+08:00", ""},
		{"2026-02-30T08:30:00+08:00", ""},
		{"2026-6-15T08:30:00+08:00", ""},
		{"2026-06-15T08:30:00.+08:00", ""},
		{"2026-06-15", ""},
		{"yesterday", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("parseTime(%q) = %v, want refused", tt.in, got)
			}
			continue
		}
		if !ok || got.Format(time.RFC3339Nano) != tt.want {
			t.Errorf("parseTime(%q) = %v, %v; want %s", tt.in, got.Format(time.RFC3339Nano), ok, tt.want)
		}
	}
}
