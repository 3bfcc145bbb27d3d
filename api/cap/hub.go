package cap

import (
	"strings"
	"time"
)

// This file holds the plain functions the hub maps a CAP alert with (and
// back, for export). They decide nothing the hub has not written down in
// issue 14; each says its rule.

// HubSeverity maps <severity> to the hub's severity (docs/API.md: extreme,
// severe, moderate, minor, "as CAP 1.2"): Extreme, Severe, Moderate and
// Minor to the same in lower case; Unknown, and anything else, to "minor".
func HubSeverity(s Severity) string {
	switch s {
	case SeverityExtreme, SeveritySevere, SeverityModerate, SeverityMinor:
		return strings.ToLower(string(s))
	}
	return "minor"
}

// CAPSeverity maps the hub's severity back to <severity> for export:
// "extreme" to Extreme and so on; anything else to Unknown.
func CAPSeverity(hub string) Severity {
	switch hub {
	case "extreme":
		return SeverityExtreme
	case "severe":
		return SeveritySevere
	case "moderate":
		return SeverityModerate
	case "minor":
		return SeverityMinor
	}
	return SeverityUnknown
}

// HubKind maps an info to the hub's alert kind: "all_clear" when one of its
// <responseType>s is AllClear, else "warning". CAP has no counterpart of the
// hub's "mobilization" (a call to responders); an imported alert is never
// one.
func HubKind(in *Info) string {
	for _, t := range in.ResponseTypes {
		if t == ResponseAllClear {
			return "all_clear"
		}
	}
	return "warning"
}

// Exercise reports whether the hub treats the message as an exercise
// (演练: delivered to staff roles only, marked everywhere): status Exercise
// or Test. Actual is live; the hub refuses System and Draft.
func (a *Alert) Exercise() bool {
	return a.Status == StatusExercise || a.Status == StatusTest
}

// InfoFor picks the info block to show a member whose language is lang (a
// tag such as "zh-CN"; "" when the member has none). Chinese comes first:
//
//  1. the first info whose language is lang (case-insensitive);
//  2. else the first whose primary language is lang's ("en" matches
//     "en-US", "zh-CN" matches "zh-TW");
//  3. else the first in Chinese ("zh", "zh-*");
//  4. else the first info.
//
// An info without <language> is "en-US", as CAP says. InfoFor returns nil
// when the alert has no info (a Cancel often has none).
func (a *Alert) InfoFor(lang string) *Info {
	if len(a.Infos) == 0 {
		return nil
	}
	lang = strings.ReplaceAll(lang, "_", "-")
	if lang != "" {
		for i := range a.Infos {
			if strings.EqualFold(a.Infos[i].Lang(), lang) {
				return &a.Infos[i]
			}
		}
		for i := range a.Infos {
			if strings.EqualFold(primary(a.Infos[i].Lang()), primary(lang)) {
				return &a.Infos[i]
			}
		}
	}
	for i := range a.Infos {
		if strings.EqualFold(primary(a.Infos[i].Lang()), "zh") {
			return &a.Infos[i]
		}
	}
	return &a.Infos[0]
}

func primary(tag string) string {
	p, _, _ := strings.Cut(tag, "-")
	return p
}

// Body is the hub's alert body for an info: <description>, a blank line,
// <instruction>; either may be absent (then there is no blank line).
func Body(in *Info) string {
	switch {
	case in.Description == "":
		return in.Instruction
	case in.Instruction == "":
		return in.Description
	}
	return in.Description + "\n\n" + in.Instruction
}

// Title is the hub's alert title for an info: <headline>, else <event>.
func Title(in *Info) string {
	if in.Headline != "" {
		return in.Headline
	}
	return in.Event
}

// ExpiresAt is when the hub's alert expires: the latest <expires> of its
// infos, or def (the caller's default, 24 hours after sending for the hub)
// when no info has one.
func (a *Alert) ExpiresAt(def time.Time) time.Time {
	var latest time.Time
	for i := range a.Infos {
		if e := a.Infos[i].Expires; e.After(latest) {
			latest = e
		}
	}
	if latest.IsZero() {
		return def
	}
	return latest
}

// Shape is one polygon or circle of an alert's areas in the hub's terms:
// [lat, lng] degrees and metres. Exactly one of Polygon and Circle is set.
type Shape struct {
	Polygon [][2]float64 // a closed ring (first point == last), as CAP gives it
	Circle  *Disc
}

// Disc is a circle in the hub's terms.
type Disc struct {
	Lat, Lng float64
	RadiusM  float64
}

// Shapes is every <polygon> and <circle> of every <area> of every info, in
// document order, each once: the info blocks of a multilingual alert
// usually repeat the same areas. The hub targets their union (CAP 1.2
// section 3.2.4: a point is in an area when it is in any of its shapes).
// Geocodes are not shapes; see DivisionCodes. <altitude> and <ceiling> are
// ignored.
func (a *Alert) Shapes() []Shape {
	var out []Shape
	seen := make(map[string]bool)
	for i := range a.Infos {
		for _, ar := range a.Infos[i].Areas {
			for _, p := range ar.Polygons {
				key := "p" + formatPolygon(p)
				if seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, Shape{Polygon: append([][2]float64(nil), p...)})
			}
			for _, c := range ar.Circles {
				key := "c" + formatCircle(c)
				if seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, Shape{Circle: &Disc{Lat: c.Lat, Lng: c.Lon, RadiusM: c.RadiusKm * 1000}})
			}
		}
	}
	return out
}

// DivisionCode is a Chinese administrative division code found in a
// <geocode>: a 6-digit GB/T 2260 code (province, prefecture or county) or a
// 12-digit statistical division code (down to township and village).
type DivisionCode struct {
	Code string // as given: 6 or 12 digits
	// Prefix is Code without its trailing all-zero levels: the digits every
	// place inside the division has its code start with. 330825 (a county)
	// is "330825"; 330000 (a province) is "33"; 330825100000 (a township)
	// is "330825100"; 330825100201 (a village) is all 12.
	Prefix string
	Level  string // "province", "prefecture", "county", "township" or "village"
}

// DivisionCodes is every geocode of every area of every info that
// ParseDivisionCode recognises, in document order, each Prefix once (330825
// and 330825000000 are the same county). The hub
// targets the villages whose code starts with a Prefix.
func (a *Alert) DivisionCodes() []DivisionCode {
	var out []DivisionCode
	seen := make(map[string]bool)
	for i := range a.Infos {
		for _, ar := range a.Infos[i].Areas {
			for _, g := range ar.Geocodes {
				dc, ok := ParseDivisionCode(g)
				if !ok || seen[dc.Prefix] {
					continue
				}
				seen[dc.Prefix] = true
				out = append(out, dc)
			}
		}
	}
	return out
}

// ParseDivisionCode recognises a geocode as a Chinese administrative
// division code. The rule:
//
//   - the value (white space trimmed) is 6 or 12 ASCII digits,
//   - its first two digits are a GB/T 2260 province code (11-15, 21-23,
//     31-37, 41-46, 50-54, 61-65, 71, 81, 82), so a US SAME or FIPS code
//     such as 006037 never passes, and
//   - the valueName is not that of another code system (SAME, FIPS*, UGC,
//     EMMA*, NUTS*, ISO3166*, LAU*, ZIP*, POST*), compared in upper case
//     without spaces or punctuation.
//
// Any other valueName passes: Chinese feeds write "GB/T 2260", "GB2260",
// "ADCODE", "行政区划代码" or nothing at all for the same codes.
func ParseDivisionCode(g ValuePair) (DivisionCode, bool) {
	v := strings.TrimSpace(g.Value)
	if len(v) != 6 && len(v) != 12 {
		return DivisionCode{}, false
	}
	for _, c := range []byte(v) {
		if c < '0' || c > '9' {
			return DivisionCode{}, false
		}
	}
	if !provinces[v[:2]] || foreignCodeName(g.ValueName) {
		return DivisionCode{}, false
	}
	// Levels are the digit groups 2+2+2(+3+3); keep up to the last non-zero one.
	ends := []int{2, 4, 6, 9, 12}
	levels := []string{"province", "prefecture", "county", "township", "village"}
	last := 0
	for i, end := range ends {
		if end > len(v) {
			break
		}
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		if strings.Trim(v[start:end], "0") != "" {
			last = i
		}
	}
	return DivisionCode{Code: v, Prefix: v[:ends[last]], Level: levels[last]}, true
}

var provinces = func() map[string]bool {
	m := make(map[string]bool)
	for _, c := range strings.Fields("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82") {
		m[c] = true
	}
	return m
}()

func foreignCodeName(name string) bool {
	n := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_', '.', ':', '/':
			return -1
		}
		return r
	}, strings.ToUpper(name))
	for _, p := range []string{"SAME", "FIPS", "UGC", "EMMA", "NUTS", "ISO3166", "LAU", "ZIP", "POST"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}
