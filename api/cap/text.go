package cap

import (
	"strconv"
	"strings"
	"time"
)

// timeHint is how a bad time is explained.
const timeHint = "must be a date and time with its offset, like 2026-06-01T08:00:00+08:00"

// parseTime reads a CAP dateTime leniently: the standard's
// 2026-06-01T08:00:00+08:00 and -00:00 for UTC, and what real feeds send
// besides: "Z", fractional seconds, an offset without its colon (+0800), a
// space for the T. A time without an offset is refused: guessing the zone
// of a warning would move it by hours.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return time.Time{}, false
	}
	wall, err := time.Parse("2006-01-02T15:04:05", s[:10]+"T"+s[11:19])
	if err != nil {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if rest[0] == '.' || rest[0] == ',' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return time.Time{}, false
		}
		frac := rest[1:i]
		if len(frac) > 9 {
			frac = frac[:9]
		}
		frac += strings.Repeat("0", 9-len(frac))
		nsec, _ = strconv.Atoi(frac)
		rest = rest[i:]
	}
	off, ok := parseOffset(rest)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(),
		nsec, zone(off)), true
}

// parseOffset reads "Z", "+hh:mm" or "+hhmm" (either sign) into seconds east
// of UTC, at most 14 hours (xs:dateTime's limit).
func parseOffset(s string) (int, bool) {
	if s == "Z" || s == "z" {
		return 0, true
	}
	if len(s) == 5 {
		s = s[:3] + ":" + s[3:]
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, false
	}
	hh, ok1 := twoDigits(s[1:3])
	mm, ok2 := twoDigits(s[4:6])
	if !ok1 || !ok2 || mm > 59 || hh*60+mm > 14*60 {
		return 0, false
	}
	off := (hh*60 + mm) * 60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

func twoDigits(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// zone is the location a parsed time carries: UTC for a zero offset (however
// it was written), else an unnamed fixed zone.
func zone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	return time.FixedZone("", off)
}

// formatTime writes t as the CAP 1.2 schema wants it: whole seconds and a
// numeric offset, "-00:00" for UTC (CAP 1.2 section 3.3.2 forbids "Z").
// Sub-second precision is dropped: the schema's pattern has no room for it.
func formatTime(t time.Time) string {
	_, off := t.Zone()
	b := make([]byte, 0, 25)
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	sign := byte('+')
	if off <= 0 {
		sign = '-'
		off = -off
	}
	m := off / 60
	return string(append(b, sign, byte('0'+m/600), byte('0'+m/60%10), ':', byte('0'+m%60/10), byte('0'+m%10)))
}

// checkTime says what is wrong with a time MarshalCAP would have to write,
// or "" when nothing is.
func checkTime(t time.Time) string {
	_, off := t.Zone()
	switch {
	case t.Year() < 1 || t.Year() > 9999:
		return "year must be in 0001-9999"
	case off%60 != 0 || off > 14*3600 || off < -14*3600:
		return "offset must be whole minutes within 14 hours of UTC"
	}
	return ""
}

// parseDecimal reads a plain decimal number ("-120.14", "+38", "0"): digits
// with at most a sign and a point, never an exponent, "NaN" or "Inf", so the
// value can be written back as an xs:decimal.
func parseDecimal(s string) (float64, bool) {
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
		case (c == '-' || c == '+') && i == 0:
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func formatDecimal(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// pairs splits a <polygon> or <circle> text into its white-space separated
// words, gluing "lat, lon" and "lat ,lon" back into "lat,lon": feeds wrap
// polygons over many lines and some put a space after the comma. It is
// linear in the input, however many commas and spaces alternate.
func pairs(s string) []string {
	var out [][]byte
	for f := range strings.FieldsSeq(s) {
		if n := len(out); n > 0 && (out[n-1][len(out[n-1])-1] == ',' || f[0] == ',') {
			out[n-1] = append(out[n-1], f...)
			continue
		}
		out = append(out, []byte(f))
	}
	words := make([]string, len(out))
	for i, w := range out {
		words[i] = string(w)
	}
	return words
}

// parseLatLon reads "lat,lon".
func parseLatLon(s string) ([2]float64, bool) {
	lat, lon, ok := strings.Cut(s, ",")
	if !ok {
		return [2]float64{}, false
	}
	la, ok1 := parseDecimal(lat)
	lo, ok2 := parseDecimal(lon)
	return [2]float64{la, lo}, ok1 && ok2
}

// parsePolygon reads "lat,lon lat,lon ...". Only the form is checked here;
// Validate checks the count, the closing point and the ranges.
func parsePolygon(s string) (Polygon, string) {
	words := pairs(s)
	if len(words) == 0 {
		return nil, "is empty"
	}
	p := make(Polygon, len(words))
	for i, w := range words {
		pt, ok := parseLatLon(w)
		if !ok {
			return nil, "point " + strconv.Itoa(i) + " " + strconv.Quote(clip(w)) + ` is not "lat,lon"`
		}
		p[i] = pt
	}
	return p, ""
}

func formatPolygon(p Polygon) string {
	var b strings.Builder
	for i, pt := range p {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(formatDecimal(pt[0]))
		b.WriteByte(',')
		b.WriteString(formatDecimal(pt[1]))
	}
	return b.String()
}

// parseCircle reads "lat,lon radius_km".
func parseCircle(s string) (Circle, string) {
	const form = `must be "lat,lon radius_km"`
	words := pairs(s)
	if len(words) != 2 {
		return Circle{}, form
	}
	pt, ok := parseLatLon(words[0])
	r, ok2 := parseDecimal(words[1])
	if !ok || !ok2 {
		return Circle{}, form
	}
	return Circle{Lat: pt[0], Lon: pt[1], RadiusKm: r}, ""
}

func formatCircle(c Circle) string {
	return formatDecimal(c.Lat) + "," + formatDecimal(c.Lon) + " " + formatDecimal(c.RadiusKm)
}

// parseReferences reads <references>: white-space separated
// "sender,identifier,sent" triples.
func parseReferences(s string) ([]Reference, string) {
	var refs []Reference
	for i, w := range strings.Fields(s) {
		parts := strings.Split(w, ",")
		if len(parts) != 3 {
			return nil, "entry " + strconv.Itoa(i) + " " + strconv.Quote(clip(w)) + ` is not "sender,identifier,sent"`
		}
		sent, ok := parseTime(parts[2])
		if !ok {
			return nil, "entry " + strconv.Itoa(i) + " sent " + strconv.Quote(clip(parts[2])) + " " + timeHint
		}
		refs = append(refs, Reference{Sender: parts[0], Identifier: parts[1], Sent: sent})
	}
	return refs, ""
}

func formatReferences(refs []Reference) string {
	words := make([]string, len(refs))
	for i, r := range refs {
		words[i] = r.Sender + "," + r.Identifier + "," + formatTime(r.Sent)
	}
	return strings.Join(words, " ")
}

// clip shortens a quoted bit of input in an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	for i := max; i > 0; i-- {
		if s[i]&0xC0 != 0x80 { // not a UTF-8 continuation byte
			return s[:i] + "…"
		}
	}
	return ""
}

// normURI makes s a URI reference that xs:anyURI validators (libxml2's
// among them) accept, leaving a well-formed reference as it is. A "%" that
// does not start an escape becomes "%25", every "#" after the first "%23",
// spaces and control characters are escaped; a reference that is still not
// RFC 3986 (an empty scheme "::", a port "x:abc", a stray "[" or "@") has
// every character but letters, digits, "-._~/" and escapes escaped, which
// leaves a relative reference. Parse applies it to <web> and <uri>, so a
// feed's malformed link never makes the re-exported document invalid; it is
// idempotent.
func normURI(s string) string {
	var b strings.Builder
	hashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && !pctAt(s, i):
			b.WriteString("%25")
		case c == '#' && hashes > 0:
			b.WriteString("%23")
		case c <= ' ' || c == 0x7f:
			pct(&b, c)
		default:
			if c == '#' {
				hashes++
			}
			b.WriteByte(c)
		}
	}
	out := b.String()
	if validURIRef(out) {
		return out
	}
	b.Reset()
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case c == '%' && pctAt(out, i), unreserved(c), c == '/' && !(i == 1 && out[0] == '/'):
			b.WriteByte(c)
		default:
			pct(&b, c)
		}
	}
	return b.String()
}

func pct(b *strings.Builder, c byte) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&15])
}

// pctAt reports whether s[i:] starts with an escape "%XX".
func pctAt(s string, i int) bool {
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	return i+2 < len(s) && s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2])
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// pchar is RFC 3986's pchar, with the characters libxml2 reads as "_"
// before it parses a URI (non-ASCII and <>"{}|\^` among them) allowed.
func pchar(s string, i int) bool {
	c := s[i]
	return unreserved(c) || c == '%' && pctAt(s, i) || strings.IndexByte("!$&'()*+,;=:@", c) >= 0 ||
		c >= 0x80 || strings.IndexByte("<>\"{}|\\^`", c) >= 0
}

func allPchar(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		if !pchar(s, i) && strings.IndexByte(extra, s[i]) < 0 {
			return false
		}
	}
	return true
}

// validURIRef checks RFC 3986's URI-reference, a little more strictly than
// the RFC where libxml2 is (a ":" in an authority needs a port of digits;
// IP literals are hex digits, ":" and ".").
func validURIRef(s string) bool {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		if !allPchar(s[i+1:], "/?") {
			return false
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		if !allPchar(s[i+1:], "/?") {
			return false
		}
		s = s[:i]
	}
	rest, scheme := s, false
	if i := strings.IndexByte(s, ':'); i > 0 && validScheme(s[:i]) {
		rest, scheme = s[i+1:], true
	}
	if auth, ok := strings.CutPrefix(rest, "//"); ok {
		path := ""
		if j := strings.IndexByte(auth, '/'); j >= 0 {
			auth, path = auth[:j], auth[j:]
		}
		return validAuthority(auth) && allPchar(path, "/")
	}
	if first, _, _ := strings.Cut(rest, "/"); !scheme && strings.Contains(first, ":") {
		return false // a relative path's first segment has no ":"
	}
	return allPchar(rest, "/")
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

func validAuthority(auth string) bool {
	if user, host, ok := strings.Cut(auth, "@"); ok {
		if strings.Contains(user, "[") || strings.Contains(user, "]") || !allPchar(user, "") {
			return false
		}
		auth = host
	}
	port := ""
	if rest, ok := strings.CutPrefix(auth, "["); ok {
		lit, after, ok := strings.Cut(rest, "]")
		if !ok || lit == "" || strings.Trim(lit, "0123456789abcdefABCDEF:.") != "" {
			return false
		}
		if after != "" {
			p, ok := strings.CutPrefix(after, ":")
			if !ok {
				return false
			}
			port = p
			if port == "" {
				return false
			}
		}
	} else {
		host, p, hasPort := strings.Cut(auth, ":")
		if hasPort && p == "" {
			return false
		}
		for i := 0; i < len(host); i++ {
			if !pchar(host, i) || host[i] == ':' || host[i] == '@' {
				return false
			}
		}
		port = p
	}
	return strings.Trim(port, "0123456789") == ""
}
