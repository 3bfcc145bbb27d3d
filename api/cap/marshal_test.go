package cap

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The fixtures written to the standard are themselves valid against the
// schema (the lenient ones, CAP 1.1 and no namespace, are not meant to be).
func TestFixturesValidate(t *testing.T) {
	t.Parallel()
	for _, f := range fixtures(t) {
		name := filepath.Base(f)
		if !strings.HasPrefix(name, "oasis-") && !strings.HasPrefix(name, "cma-") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			xmllint(t, readFile(t, name))
		})
	}
}

// Parse -> MarshalCAP -> Parse gives the same alert, every MarshalCAP output
// is valid against the OASIS schema, and a second MarshalCAP writes the same
// bytes.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, f := range fixtures(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := mustParseFile(t, name)
			out, err := a.MarshalCAP()
			if err != nil {
				t.Fatal(err)
			}
			xmllint(t, out)
			b, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(MarshalCAP): %v\n%s", err, out)
			}
			if d := diffAlerts(a, b); d != "" {
				t.Fatalf("round trip differs at %s", d)
			}
			again, err := b.MarshalCAP()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, again) {
				t.Fatalf("MarshalCAP not stable:\n%s\n---\n%s", out, again)
			}
		})
	}
}

// full is an alert as the hub would build one for export, with every
// element of the standard set.
func full() *Alert {
	cst := time.FixedZone("CST", 8*3600)
	alt, ceil := 0.0, 1500.25
	return &Alert{
		Identifier:  "hub-a1b2c3-2",
		Sender:      "hub@longyou.example",
		Sent:        time.Date(2026, 6, 15, 8, 30, 0, 0, cst),
		Status:      StatusExercise,
		MsgType:     MsgUpdate,
		Source:      "县应急指挥中心",
		Scope:       ScopeRestricted,
		Restriction: "staff & patrols <only>",
		Addresses:   `"command center" patrol-3`,
		Codes:       []string{"IPAWSv1.0", "演练"},
		Note:        "second version",
		References: []Reference{
			{Sender: "hub@longyou.example", Identifier: "hub-a1b2c3-1", Sent: time.Date(2026, 6, 15, 0, 15, 0, 0, time.UTC)},
		},
		Incidents: "flood-0615",
		Infos: []Info{{
			Language:      "zh-CN",
			Categories:    []Category{CategoryMet, CategoryGeo},
			Event:         "山洪",
			ResponseTypes: []ResponseType{ResponseEvacuate, ResponseAllClear},
			Urgency:       UrgencyImmediate,
			Severity:      SeverityExtreme,
			Certainty:     CertaintyVeryLikely,
			Audience:      "沿溪村民",
			EventCodes:    []ValuePair{{"CMA", "11B03"}},
			Effective:     time.Date(2026, 6, 15, 8, 30, 0, 0, cst),
			Onset:         time.Date(2026, 6, 15, 9, 0, 0, 0, time.FixedZone("", -(3*3600+30*60))),
			Expires:       time.Date(2026, 6, 16, 8, 30, 0, 0, time.UTC),
			SenderName:    "龙游县应急管理局",
			Headline:      "【演练】山洪预警",
			Description:   "第一行\n第二行 <b>&amp;</b>",
			Instruction:   "立即转移",
			Web:           "https://longyou.example/alerts/a1b2c3",
			Contact:       "0570-7012121",
			Parameters:    []ValuePair{{"预警级别", "红色"}, {"", ""}},
			Resources: []Resource{{
				ResourceDesc: "map", MimeType: "image/png", Size: 2048,
				URI: "https://longyou.example/m.png", DerefURI: "aGVsbG8=", Digest: "da39a3ee5e6b4b0d3255bfef95601890afd80709",
			}},
			Areas: []Area{{
				AreaDesc: "湖镇镇",
				Polygons: []Polygon{{{29, 119.1}, {29.05, 119.1}, {29.05, 119.2}, {-0.000001, 179.999999}, {29, 119.1}}},
				Circles:  []Circle{{29.03, 119.17, 2.5}, {-90, -180, 0}},
				Geocodes: []ValuePair{{"GB/T 2260", "330825"}},
				Altitude: &alt,
				Ceiling:  &ceil,
			}},
		}},
	}
}

func TestMarshalFull(t *testing.T) {
	t.Parallel()
	a := full()
	out, err := a.MarshalCAP()
	if err != nil {
		t.Fatal(err)
	}
	xmllint(t, out)
	s := string(out)
	for _, want := range []string{
		`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">`,
		"<sent>2026-06-15T08:30:00+08:00</sent>",
		"<references>hub@longyou.example,hub-a1b2c3-1,2026-06-15T00:15:00-00:00</references>",
		"<onset>2026-06-15T09:00:00-03:30</onset>",
		"<expires>2026-06-16T08:30:00-00:00</expires>",
		"<certainty>Likely</certainty>",
		"<polygon>29,119.1 29.05,119.1 29.05,119.2 -0.000001,179.999999 29,119.1</polygon>",
		"<circle>-90,-180 0</circle>",
		"<altitude>0</altitude>",
		"<ceiling>1500.25</ceiling>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s\n%s", want, s)
		}
	}
	b, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	a.Infos[0].Certainty = CertaintyLikely // written as 1.2's Likely
	if d := diffAlerts(a, b); d != "" {
		t.Fatalf("round trip differs at %s", d)
	}
}

// The smallest alert MarshalCAP writes: only the required elements.
func TestMarshalMinimal(t *testing.T) {
	t.Parallel()
	a := &Alert{Identifier: "1", Sender: "s", Sent: time.Date(2026, 1, 1, 0, 0, 0, 999, time.UTC),
		Status: StatusActual, MsgType: MsgCancel, Scope: ScopePublic,
		References: []Reference{{"s", "0", time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)}}}
	out, err := a.MarshalCAP()
	if err != nil {
		t.Fatal(err)
	}
	xmllint(t, out)
	if strings.Contains(string(out), "Z<") || !strings.Contains(string(out), "<sent>2026-01-01T00:00:00-00:00</sent>") {
		t.Errorf("times:\n%s", out)
	}
}

// MarshalCAP writes nothing for an alert the schema would refuse.
func TestMarshalInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(a *Alert)
		element string
	}{
		{"no identifier", func(a *Alert) { a.Identifier = "" }, "identifier"},
		{"sender with space", func(a *Alert) { a.Sender = "a b" }, "sender"},
		{"no sent", func(a *Alert) { a.Sent = time.Time{} }, "sent"},
		{"sent in year 10000", func(a *Alert) { a.Sent = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "sent"},
		{"offset with seconds", func(a *Alert) { a.Sent = a.Sent.In(time.FixedZone("LMT", 8*3600+5)) }, "sent"},
		{"offset over 14 h", func(a *Alert) { a.Infos[0].Expires = a.Sent.In(time.FixedZone("", 15*3600)) }, "info[0].expires"},
		{"bad status", func(a *Alert) { a.Status = "actual" }, "status"},
		{"reference sender", func(a *Alert) { a.References[0].Sender = "x,y" }, "references"},
		{"reference time", func(a *Alert) { a.References[0].Sent = time.Time{} }, "references"},
		{"no category", func(a *Alert) { a.Infos[0].Categories = nil }, "info[0].category"},
		{"language", func(a *Alert) { a.Infos[0].Language = "zh CN" }, "info[0].language"},
		{"no mimeType", func(a *Alert) { a.Infos[0].Resources[0].MimeType = "" }, "info[0].resource[0].mimeType"},
		{"negative size", func(a *Alert) { a.Infos[0].Resources[0].Size = -1 }, "info[0].resource[0].size"},
		{"open polygon", func(a *Alert) { a.Infos[0].Areas[0].Polygons[0][4] = [2]float64{1, 1} }, "info[0].area[0].polygon[0]"},
		{"polygon of 3", func(a *Alert) { a.Infos[0].Areas[0].Polygons[0] = Polygon{{1, 1}, {2, 2}, {1, 1}} }, "info[0].area[0].polygon[0]"},
		{"circle radius", func(a *Alert) { a.Infos[0].Areas[0].Circles[0].RadiusKm = -1 }, "info[0].area[0].circle[0]"},
		{"circle radius Inf", func(a *Alert) { a.Infos[0].Areas[0].Circles[0].RadiusKm = 1 / zero }, "info[0].area[0].circle[0]"},
		{"circle NaN", func(a *Alert) { a.Infos[0].Areas[0].Circles[1].Lat = zero / zero }, "info[0].area[0].circle[1]"},
		{"altitude NaN", func(a *Alert) { n := zero / zero; a.Infos[0].Areas[0].Altitude = &n }, "info[0].area[0].altitude"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := full()
			tt.change(a)
			out, err := a.MarshalCAP()
			if out != nil {
				t.Errorf("wrote %d bytes", len(out))
			}
			wantElementError(t, err, tt.element, "")
		})
	}
}

var zero = 0.0

func TestFormatTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 6, 15, 8, 30, 0, 0, time.UTC), "2026-06-15T08:30:00-00:00"},
		{time.Date(2026, 6, 15, 8, 30, 0, 999999999, time.FixedZone("", 8*3600)), "2026-06-15T08:30:00+08:00"},
		{time.Date(2026, 6, 15, 8, 30, 0, 0, time.FixedZone("", -(9*3600+30*60))), "2026-06-15T08:30:00-09:30"},
		{time.Date(2026, 6, 15, 8, 30, 0, 0, time.FixedZone("", 14*3600)), "2026-06-15T08:30:00+14:00"},
		{time.Date(1, 1, 1, 0, 0, 1, 0, time.FixedZone("", 45*60)), "0001-01-01T00:00:01+00:45"},
	}
	for _, tt := range tests {
		if got := formatTime(tt.t); got != tt.want {
			t.Errorf("formatTime(%v) = %s, want %s", tt.t, got, tt.want)
		}
	}
}

// Text is written readably (line breaks and quotes as they are) and read
// back the same; what XML cannot carry becomes U+FFFD.
func TestMarshalText(t *testing.T) {
	t.Parallel()
	a := full()
	a.Infos[0].Description = "1. \"走\"\r\n2. <高处> & 'now'\tx\x01y\uFFFEz\xff"
	out, err := a.MarshalCAP()
	if err != nil {
		t.Fatal(err)
	}
	xmllint(t, out)
	if !strings.Contains(string(out), "<description>1. \"走\"&#xD;\n2. &lt;高处&gt; &amp; 'now'\tx\uFFFDy\uFFFDz\uFFFD</description>") {
		t.Errorf("description written as\n%s", out)
	}
	b, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Infos[0].Description, "1. \"走\"\r\n2. <高处> & 'now'\tx\uFFFDy\uFFFDz\uFFFD"; got != want {
		t.Errorf("read back %q, want %q", got, want)
	}
}

// Links from feeds are written so the schema's xs:anyURI accepts them;
// well-formed ones are untouched.
func TestMarshalURIs(t *testing.T) {
	t.Parallel()
	good := []string{
		"http://www.dhs.gov/dhspublic/display?theme=29",
		"https://www.12379.cn/html/gzaq/fxpg/index.shtml#top",
		"https://例子.中国/预警?id=1&x=%E4%B8%AD",
		"http://[::1]:8080/a",
		"mailto:ops@longyou.example",
		"urn:uuid:6c1a9f1e-0000-4000-8000-000000000001",
		"alerts/a1.xml",
	}
	bad := []string{
		"http://x/%zz", "%", "http://[::1", "::", ":", "http://x:abc/", "[", "http://x/#a#b",
		"a b", "http://x/?q=<>&r=\"'{}|^`\\", "http://x/\ty", "http://x/%", "http://x/%4", "#", "##", "http://",
		"//x:y", "a:b:c", "1http://x", "http://x/\u00a0y", "http://x/\uFFFD",
	}
	a := full()
	in := &a.Infos[0]
	in.Resources = nil
	for _, u := range append(append([]string{}, good...), bad...) {
		in.Resources = append(in.Resources, Resource{ResourceDesc: "r", MimeType: "text/html", URI: u})
	}
	in.Web = "http://x/%zz#a#b"
	out, err := a.MarshalCAP()
	if err != nil {
		t.Fatal(err)
	}
	xmllint(t, out)
	b, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range good {
		if got := b.Infos[0].Resources[i].URI; got != u {
			t.Errorf("well-formed %q written as %q", u, got)
		}
	}
	for _, r := range b.Infos[0].Resources {
		if again := normURI(r.URI); again != r.URI {
			t.Errorf("normURI not stable: %q -> %q", r.URI, again)
		}
	}
	if got := b.Infos[0].Web; got != "http://x/%25zz#a%23b" {
		t.Errorf("web = %q", got)
	}
}
