package cap

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
)

// base is a valid alert with one of every element whose absence or
// malformation the tests below check.
const base = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>ID-1</identifier>
  <sender>sender@example.org</sender>
  <sent>2026-06-15T08:30:00+08:00</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <references>sender@example.org,ID-0,2026-06-15T07:30:00+08:00</references>
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>暴雨</event>
    <responseType>Prepare</responseType>
    <urgency>Expected</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <expires>2026-06-15T20:30:00+08:00</expires>
    <resource>
      <resourceDesc>map</resourceDesc>
      <mimeType>image/png</mimeType>
      <size>100</size>
    </resource>
    <area>
      <areaDesc>湖镇镇</areaDesc>
      <polygon>29.00,119.10 29.05,119.10 29.05,119.20 29.00,119.10</polygon>
      <circle>29.03,119.17 2.5</circle>
      <altitude>10</altitude>
    </area>
  </info>
</alert>
`

func TestBaseIsValid(t *testing.T) {
	t.Parallel()
	if _, err := Parse([]byte(base)); err != nil {
		t.Fatal(err)
	}
	xmllint(t, []byte(base))
}

// withoutElement removes <name>...</name> (the first one) from doc.
func withoutElement(t *testing.T, doc, name string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)\s*<` + name + `>.*?</` + name + `>`)
	loc := re.FindStringIndex(doc)
	if loc == nil {
		t.Fatalf("no <%s> in the document", name)
	}
	return doc[:loc[0]] + doc[loc[1]:]
}

func TestParseMissingRequired(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, element string }{
		{"identifier", "identifier"},
		{"sender", "sender"},
		{"sent", "sent"},
		{"status", "status"},
		{"msgType", "msgType"},
		{"scope", "scope"},
		{"category", "info[0].category"},
		{"event", "info[0].event"},
		{"urgency", "info[0].urgency"},
		{"severity", "info[0].severity"},
		{"certainty", "info[0].certainty"},
		{"resourceDesc", "info[0].resource[0].resourceDesc"},
		{"areaDesc", "info[0].area[0].areaDesc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(withoutElement(t, base, tt.name)))
			wantElementError(t, err, tt.element, "required")
		})
	}
	// Present but empty is missing too.
	_, err := Parse([]byte(strings.Replace(base, "<event>暴雨</event>", "<event>  </event>", 1)))
	wantElementError(t, err, "info[0].event", "required")
}

func TestParseBadElements(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, old, new   string
		element, problem string
	}{
		{"status", "<status>Actual</status>", "<status>actual</status>", "status", "not one of"},
		{"status 1.0", "<status>Actual</status>", "<status>Real</status>", "status", "Actual, Exercise"},
		{"msgType", "<msgType>Update</msgType>", "<msgType>Upgrade</msgType>", "msgType", "not one of"},
		{"scope", "<scope>Public</scope>", "<scope>Everyone</scope>", "scope", "not one of"},
		{"category", "<category>Met</category>", "<category>Weather</category>", "info[0].category[0]", "not one of"},
		{"responseType", "<responseType>Prepare</responseType>", "<responseType>Run</responseType>", "info[0].responseType[0]", "not one of"},
		{"urgency", "<urgency>Expected</urgency>", "<urgency>Soon</urgency>", "info[0].urgency", "not one of"},
		{"severity", "<severity>Severe</severity>", "<severity>Orange</severity>", "info[0].severity", "not one of"},
		{"certainty", "<certainty>Likely</certainty>", "<certainty>Sure</certainty>", "info[0].certainty", "not one of"},
		{"sent without offset", "+08:00</sent>", "</sent>", "sent", "offset"},
		{"sent garbage", "<sent>2026-06-15T08:30:00+08:00</sent>", "<sent>tomorrow</sent>", "sent", "offset"},
		{"expires", "<expires>2026-06-15T20:30:00+08:00</expires>", "<expires>2026-06-15T20:30</expires>", "info[0].expires", ""},
		{"references pair", "sender@example.org,ID-0,2026", "ID-0,2026", "references", "sender,identifier,sent"},
		{"references time", "ID-0,2026-06-15T07:30:00+08:00", "ID-0,2026-06-15", "references", "sent"},
		{"identifier with space", "<identifier>ID-1</identifier>", "<identifier>ID 1</identifier>", "identifier", "spaces"},
		{"sender with comma", "<sender>sender@example.org</sender>", "<sender>a,b</sender>", "sender", "commas"},
		{"identifier twice", "<identifier>ID-1</identifier>", "<identifier>ID-1</identifier><identifier>ID-2</identifier>", "identifier", "2 times"},
		{"severity twice", "<severity>Severe</severity>", "<severity>Severe</severity><severity>Minor</severity>", "info[0].severity", "2 times"},
		{"language", "<language>zh-CN</language>", "<language>中文</language>", "info[0].language", "language tag"},
		{"polygon of 3", "<polygon>29.00,119.10 29.05,119.10 29.05,119.20 29.00,119.10</polygon>",
			"<polygon>29.00,119.10 29.05,119.10 29.00,119.10</polygon>", "info[0].area[0].polygon[0]", "at least 4"},
		{"polygon open", "29.05,119.20 29.00,119.10</polygon>", "29.05,119.20 29.01,119.10</polygon>", "info[0].area[0].polygon[0]", "not closed"},
		{"polygon latitude", "29.05,119.20 29.00", "91,119.20 29.00", "info[0].area[0].polygon[0]", "latitude 91"},
		{"polygon longitude", "29.05,119.10 29.05", "29.05,-180.5 29.05", "info[0].area[0].polygon[0]", "longitude -180.5"},
		{"polygon lon,lat swapped", "<polygon>29.00,119.10 29.05,119.10 29.05,119.20 29.00,119.10</polygon>",
			"<polygon>119.10,29.00 119.10,29.05 119.20,29.05 119.10,29.00</polygon>", "info[0].area[0].polygon[0]", "latitude 119.1"},
		{"polygon not pairs", "29.05,119.10 29.05", "29.05;119.10 29.05", "info[0].area[0].polygon[0]", "point 1"},
		{"polygon NaN", "29.05,119.10 29.05", "NaN,119.10 29.05", "info[0].area[0].polygon[0]", "point 1"},
		{"polygon exponent", "29.05,119.10 29.05", "2.905e1,119.10 29.05", "info[0].area[0].polygon[0]", "point 1"},
		{"polygon empty", "<polygon>29.00,119.10 29.05,119.10 29.05,119.20 29.00,119.10</polygon>", "<polygon> </polygon>",
			"info[0].area[0].polygon[0]", "empty"},
		{"second polygon", "</polygon>", "</polygon><polygon>1,1 2,2 3,3 1,2</polygon>", "info[0].area[0].polygon[1]", "not closed"},
		{"circle without radius", "<circle>29.03,119.17 2.5</circle>", "<circle>29.03,119.17</circle>", "info[0].area[0].circle[0]", "radius_km"},
		{"circle without comma", "<circle>29.03,119.17 2.5</circle>", "<circle>29.03 119.17 2.5</circle>", "info[0].area[0].circle[0]", "radius_km"},
		{"circle negative", "<circle>29.03,119.17 2.5</circle>", "<circle>29.03,119.17 -2.5</circle>", "info[0].area[0].circle[0]", "radius"},
		{"circle unit", "<circle>29.03,119.17 2.5</circle>", "<circle>29.03,119.17 2.5km</circle>", "info[0].area[0].circle[0]", "radius_km"},
		{"circle latitude", "<circle>29.03,119.17 2.5</circle>", "<circle>-90.5,119.17 2.5</circle>", "info[0].area[0].circle[0]", "latitude"},
		{"altitude", "<altitude>10</altitude>", "<altitude>high</altitude>", "info[0].area[0].altitude", "decimal"},
		{"size", "<size>100</size>", "<size>1 KB</size>", "info[0].resource[0].size", "bytes"},
		{"mimeType empty", "<mimeType>image/png</mimeType>", "<mimeType></mimeType><mimeType>x</mimeType>", "info[0].resource[0].mimeType", "2 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(base, tt.old) {
				t.Fatalf("%q not in base", tt.old)
			}
			_, err := Parse([]byte(strings.Replace(base, tt.old, tt.new, 1)))
			wantElementError(t, err, tt.element, tt.problem)
		})
	}
}

// DOCTYPE and ENTITY declarations are refused before anything refers to
// them: nothing is expanded, nothing is fetched.
func TestParseRefusesDoctype(t *testing.T) {
	t.Parallel()
	body := strings.TrimPrefix(base, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	laughs := `<?xml version="1.0"?>
<!DOCTYPE alert [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
` + body
	laughs = strings.Replace(laughs, "<event>暴雨</event>", "<event>&lol9;</event>", 1)
	tests := map[string]string{
		"billion laughs": laughs,
		"external entity": `<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
` + strings.Replace(body, "<event>暴雨</event>", "<event>&xxe;</event>", 1),
		"external DTD":     `<!DOCTYPE alert SYSTEM "http://127.0.0.1:1/cap.dtd">` + body,
		"parameter entity": `<!DOCTYPE alert [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x"> %p;]>` + body,
		"plain DOCTYPE":    `<!DOCTYPE alert>` + body,
		"after a BOM":      "\xef\xbb\xbf<!DOCTYPE alert>" + body,
		"inside the root":  strings.Replace(body, "<scope>", `<!ENTITY x "y"><scope>`, 1),
		"after the root":   body + `<!DOCTYPE alert>`,
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, err := Parse([]byte(doc))
			if !errors.Is(err, ErrDoctype) {
				t.Fatalf("Parse = %v, %v; want ErrDoctype", a, err)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	t.Parallel()
	pad := func(n int) []byte { // a valid document of exactly n bytes
		b := []byte(base)
		return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
	}
	if _, err := Parse(pad(MaxSize)); err != nil {
		t.Fatalf("a document of exactly MaxSize: %v", err)
	}
	if _, err := Parse(pad(MaxSize + 1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxSize+1: %v, want ErrTooLarge", err)
	}
	// Decode reads no more than MaxSize+1 bytes of an endless body.
	r := &countingReader{r: io.MultiReader(bytes.NewReader(pad(MaxSize)), endless{})}
	if _, err := Decode(r); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode: %v, want ErrTooLarge", err)
	}
	if r.n > MaxSize+1 {
		t.Fatalf("Decode read %d bytes", r.n)
	}
	if _, err := Decode(strings.NewReader(base)); err != nil {
		t.Fatalf("Decode(base): %v", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestParseNotXML(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"empty":             "",
		"white space":       " \n",
		"text":              "hello",
		"JSON":              `{"kind":"warning"}`,
		"truncated":         base[:len(base)/2],
		"unclosed":          "<alert>",
		"mismatched":        "<alert><identifier>x</sender></alert>",
		"undefined entity":  strings.Replace(base, "<event>暴雨", "<event>&xxe;", 1),
		"text after root":   base + "junk",
		"second root":       base + "<alert/>",
		"text before root":  "junk" + base,
		"bad encoding":      strings.Replace(base, `encoding="UTF-8"`, `encoding="GB2312"`, 1),
		"invalid character": strings.Replace(base, "暴雨", "\x01", 1),
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse([]byte(doc)); !errors.Is(err, ErrNotXML) {
				t.Fatalf("Parse: %v, want ErrNotXML", err)
			}
		})
	}
}

func TestParseNotCAP(t *testing.T) {
	t.Parallel()
	body := strings.TrimPrefix(base, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	tests := map[string]string{
		"atom feed":     `<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>`,
		"html":          `<html><body>alert</body></html>`,
		"CAP 1.0":       strings.Replace(body, "urn:oasis:names:tc:emergency:cap:1.2", "http://www.incident.com/cap/1.0", 1),
		"other alert":   strings.Replace(body, "urn:oasis:names:tc:emergency:cap:1.2", "urn:example:alert", 1),
		"EDXL envelope": `<EDXLDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:1.0">` + body + `</EDXLDistribution>`,
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse([]byte(doc)); !errors.Is(err, ErrNotCAP) {
				t.Fatalf("Parse: %v, want ErrNotCAP", err)
			}
		})
	}
}

// A polygon of "1, 1, 1, ..." up to the size limit is refused quickly: the
// "lat, lon" gluing is linear (it was quadratic once, minutes for 1 MiB).
func TestParseCommaFlood(t *testing.T) {
	t.Parallel()
	flood := strings.Repeat("1, ", (MaxSize-len(base))/3)
	_, err := Parse([]byte(strings.Replace(base, "<polygon>", "<polygon>"+flood, 1)))
	wantElementError(t, err, "info[0].area[0].polygon[0]", "point 0")
}
