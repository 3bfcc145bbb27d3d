package cap

import (
	"testing"
	"time"
)

func TestHubSeverity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cap Severity
		hub string
	}{
		{SeverityExtreme, "extreme"},
		{SeveritySevere, "severe"},
		{SeverityModerate, "moderate"},
		{SeverityMinor, "minor"},
		{SeverityUnknown, "minor"},
		{"", "minor"},
		{"severe", "minor"}, // not a CAP value: never guessed upwards
	}
	for _, tt := range tests {
		if got := HubSeverity(tt.cap); got != tt.hub {
			t.Errorf("HubSeverity(%q) = %q, want %q", tt.cap, got, tt.hub)
		}
	}
	for _, s := range []Severity{SeverityExtreme, SeveritySevere, SeverityModerate, SeverityMinor} {
		if got := CAPSeverity(HubSeverity(s)); got != s {
			t.Errorf("CAPSeverity(HubSeverity(%q)) = %q", s, got)
		}
	}
	if got := CAPSeverity("catastrophic"); got != SeverityUnknown {
		t.Errorf("CAPSeverity(unknown) = %q", got)
	}
}

func TestInfoFor(t *testing.T) {
	t.Parallel()
	alert := func(langs ...string) *Alert {
		a := &Alert{}
		for _, l := range langs {
			a.Infos = append(a.Infos, Info{Language: l})
		}
		return a
	}
	tests := []struct {
		name  string
		langs []string
		want  string // the member's language
		index int
	}{
		{"exact", []string{"en-US", "zh-CN", "zh-TW"}, "zh-TW", 2},
		{"exact, case and underscore", []string{"en-US", "zh-CN"}, "ZH_cn", 1},
		{"primary language", []string{"zh-CN", "en-US"}, "en-GB", 1},
		{"primary language of a bare tag", []string{"zh-CN", "en-US"}, "en", 1},
		{"bare tag in the alert", []string{"zh-CN", "en"}, "en-US", 1},
		{"absent language is en-US", []string{"zh-CN", ""}, "en-US", 1},
		{"no match: Chinese first", []string{"en-US", "es-US", "zh-CN"}, "fr", 2},
		{"no language: Chinese first", []string{"en-US", "zh-Hans-CN"}, "", 1},
		{"bare zh", []string{"en-US", "zh"}, "", 1},
		{"no Chinese: the first", []string{"en-US", "es-US"}, "", 0},
		{"one info", []string{"es-US"}, "zh-CN", 0},
	}
	for _, tt := range tests {
		a := alert(tt.langs...)
		if got := a.InfoFor(tt.want); got != &a.Infos[tt.index] {
			t.Errorf("%s: InfoFor(%q) over %q = %q, want index %d", tt.name, tt.want, tt.langs, got.Language, tt.index)
		}
	}
	if got := (&Alert{}).InfoFor("zh-CN"); got != nil {
		t.Errorf("InfoFor without infos = %+v", got)
	}
}

func TestBodyAndTitle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in          Info
		body, title string
	}{
		{Info{Event: "暴雨", Headline: "暴雨预警", Description: "d", Instruction: "i"}, "d\n\ni", "暴雨预警"},
		{Info{Event: "暴雨", Description: "d"}, "d", "暴雨"},
		{Info{Event: "暴雨", Instruction: "i"}, "i", "暴雨"},
		{Info{Event: "暴雨"}, "", "暴雨"},
	}
	for _, tt := range tests {
		if got := Body(&tt.in); got != tt.body {
			t.Errorf("Body(%+v) = %q, want %q", tt.in, got, tt.body)
		}
		if got := Title(&tt.in); got != tt.title {
			t.Errorf("Title(%+v) = %q, want %q", tt.in, got, tt.title)
		}
	}
}

func TestExpiresAt(t *testing.T) {
	t.Parallel()
	def := time.Date(2026, 6, 16, 8, 30, 0, 0, time.UTC)
	if got := mustParseFile(t, "oasis-a1-hsas.xml").ExpiresAt(def); !got.Equal(def) {
		t.Errorf("no expires: %v, want the default", got)
	}
	if got := (&Alert{}).ExpiresAt(def); !got.Equal(def) {
		t.Errorf("no info: %v, want the default", got)
	}
	early := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	late := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	a := &Alert{Infos: []Info{{Expires: early}, {}, {Expires: late}}}
	if got := a.ExpiresAt(def); !got.Equal(late) {
		t.Errorf("ExpiresAt = %v, want the latest %v", got, late)
	}
}

func TestShapes(t *testing.T) {
	t.Parallel()
	eq := mustParseFile(t, "oasis-a3-earthquake.xml").Shapes()
	if len(eq) != 1 || eq[0].Polygon != nil || *eq[0].Circle != (Disc{Lat: 32.9525, Lng: -115.5527, RadiusM: 0}) {
		t.Errorf("earthquake shapes = %+v", eq)
	}
	flood := mustParseFile(t, "cap11-flood-exercise.xml").Shapes()
	if len(flood) != 2 || flood[0].Circle.RadiusM != 3000 || flood[1].Circle.RadiusM != 1500 {
		t.Errorf("flood shapes = %+v", flood)
	}
	drill := mustParseFile(t, "nonamespace-z-times.xml").Shapes()
	if len(drill) != 3 || len(drill[0].Polygon) != 61 || len(drill[1].Polygon) != 4 || drill[2].Circle == nil {
		t.Errorf("drill shapes = %+v", drill)
	}
	for _, s := range drill {
		if (s.Polygon == nil) == (s.Circle == nil) {
			t.Errorf("shape with both or neither: %+v", s)
		}
	}
	// Shapes copies: changing a shape leaves the alert alone.
	a := mustParseFile(t, "cma-rainstorm-orange.xml")
	s := a.Shapes()
	s[0].Polygon[0] = [2]float64{0, 0}
	if a.Infos[0].Areas[0].Polygons[0][0] == ([2]float64{0, 0}) {
		t.Error("Shapes shares the alert's polygon")
	}
}

func TestParseDivisionCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, valueName, value string
		prefix, level          string // empty: not recognised
	}{
		{"county", "GB/T 2260", "330825", "330825", "county"},
		{"prefecture", "GB/T 2260", "330800", "3308", "prefecture"},
		{"province", "GB2260", "330000", "33", "province"},
		{"district 01", "ADCODE", "110101", "110101", "county"},
		{"township", "统计用区划代码", "330825100000", "330825100", "township"},
		{"village", "统计用区划代码", "330825104201", "330825104201", "village"},
		{"village 001", "", "330825104001", "330825104001", "village"},
		{"12-digit county", "行政区划代码", "330825000000", "330825", "county"},
		{"12-digit prefecture", "", "330800000000", "3308", "prefecture"},
		{"no valueName", "", "330825", "330825", "county"},
		{"unknown valueName", "areaCode", " 330825 ", "330825", "county"},
		{"Hong Kong", "", "810000", "81", "province"},
		{"SAME", "SAME", "330825", "", ""},
		{"FIPS6", "FIPS6", "330825", "", ""},
		{"UGC", "UGC", "330825", "", ""},
		{"NUTS", "NUTS3", "330825", "", ""},
		{"ISO 3166", "ISO 3166-2", "330825", "", ""},
		{"postcode", "postcode", "324400", "", ""},
		{"US SAME value, no name", "", "006037", "", ""},
		{"not a province", "GB/T 2260", "990825", "", ""},
		{"province 00", "GB/T 2260", "000000", "", ""},
		{"7 digits", "GB/T 2260", "3308251", "", ""},
		{"9 digits", "GB/T 2260", "330825100", "", ""},
		{"letters", "GB/T 2260", "33082A", "", ""},
		{"full-width digits", "GB/T 2260", "３３０８２５", "", ""},
		{"empty", "GB/T 2260", "", "", ""},
	}
	for _, tt := range tests {
		dc, ok := ParseDivisionCode(ValuePair{tt.valueName, tt.value})
		if tt.prefix == "" {
			if ok {
				t.Errorf("%s: recognised %+v", tt.name, dc)
			}
			continue
		}
		if !ok || dc.Prefix != tt.prefix || dc.Level != tt.level || len(dc.Code) != 6 && len(dc.Code) != 12 {
			t.Errorf("%s: ParseDivisionCode(%q, %q) = %+v, %v; want prefix %s, %s", tt.name, tt.valueName, tt.value, dc, ok, tt.prefix, tt.level)
		}
	}
}

func TestExercise(t *testing.T) {
	t.Parallel()
	for s, want := range map[Status]bool{StatusActual: false, StatusExercise: true, StatusTest: true, StatusSystem: false, StatusDraft: false} {
		if got := (&Alert{Status: s}).Exercise(); got != want {
			t.Errorf("Exercise(%s) = %v", s, got)
		}
	}
}

func TestDivisionCodesOncePerPrefix(t *testing.T) {
	t.Parallel()
	a := &Alert{Infos: []Info{
		{Areas: []Area{{Geocodes: []ValuePair{{"GB/T 2260", "330825"}, {"SAME", "006037"}, {"", "330825000000"}}}}},
		{Areas: []Area{{Geocodes: []ValuePair{{"", "330825104201"}, {"ADCODE", "330825"}}}}},
	}}
	got := a.DivisionCodes()
	if len(got) != 2 || got[0].Code != "330825" || got[1].Prefix != "330825104201" {
		t.Errorf("DivisionCodes = %+v", got)
	}
}
