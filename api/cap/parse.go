package cap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Decode reads a CAP document from r (at most MaxSize bytes; more is
// ErrTooLarge, and Decode stops reading there) and parses it with Parse.
func Decode(r io.Reader) (*Alert, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("cap: read: %w", err)
	}
	return Parse(data)
}

// Parse decodes a CAP 1.2 or 1.1 <alert>, or one without a namespace (as
// some real feeds send), and checks it with Validate.
//
// Lenient where real feeds are: a UTF-8 byte order mark, an XML declaration
// (encoding UTF-8, US-ASCII or ISO-8859-1), elements in any order, white
// space around values and inside polygons and circles, "Z", "+0800" and
// fractional seconds in times, 1.1's "Very Likely" and its optional
// mimeType, elements of other namespaces (extensions, signatures), which are
// ignored.
//
// Strict where safety needs it: over MaxSize is ErrTooLarge; any DOCTYPE or
// ENTITY declaration is ErrDoctype (never expanded); malformed XML is
// ErrNotXML; another root is ErrNotCAP; a required element missing, a
// single-valued element repeated, a value outside the standard's
// enumerations, a malformed time, polygon, circle or reference is an
// *ElementError naming the element.
func Parse(data []byte) (*Alert, error) {
	if len(data) > MaxSize {
		return nil, ErrTooLarge
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))

	raw := xml.NewDecoder(bytes.NewReader(data))
	raw.Strict = true
	raw.CharsetReader = charsetReader
	g := &guard{d: raw}
	d := xml.NewTokenDecoder(g)

	// The prolog: only the XML declaration, comments and white space may
	// come before the root.
	var root xml.StartElement
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, g.wrap(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se
			break
		}
		if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) > 0 {
			return nil, fmt.Errorf("%w: text before the root element", ErrNotXML)
		}
	}
	switch {
	case root.Name.Local != "alert":
		return nil, fmt.Errorf("%w: the root element is <%s>, not <alert>", ErrNotCAP, clip(root.Name.Local))
	case root.Name.Space != Namespace12 && root.Name.Space != Namespace11 && root.Name.Space != "":
		return nil, fmt.Errorf("%w: namespace %q is not CAP 1.2 or 1.1", ErrNotCAP, clip(root.Name.Space))
	}
	g.space = root.Name.Space

	var ra rawAlert
	if err := d.DecodeElement(&ra, &root); err != nil {
		return nil, g.wrap(err)
	}
	// After the root: nothing but comments, processing instructions and
	// white space.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, g.wrap(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return nil, fmt.Errorf("%w: a second root element <%s>", ErrNotXML, clip(t.Name.Local))
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text after the root element", ErrNotXML)
			}
		}
	}

	a, err := ra.alert()
	if err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// guard is the token stream Parse decodes from. It refuses every <!...>
// declaration (DOCTYPE, ENTITY, ...) the moment it appears, before anything
// could refer to it, and it hides elements of other namespaces than the
// root's under a name no CAP field matches, so that an extension's
// <ext:note> is never read as CAP's <note>. Elements in no namespace are
// CAP's too: feeds that prefix only the root (<cap:alert>) write their
// children without one.
type guard struct {
	d       *xml.Decoder
	space   string // the root's namespace, once the root is read
	inRoot  bool
	doctype bool
}

func (g *guard) Token() (xml.Token, error) {
	tok, err := g.d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.Directive:
		g.doctype = true
		return nil, ErrDoctype
	case xml.StartElement:
		if g.inRoot {
			t.Name = g.name(t.Name)
		}
		g.inRoot = true
		return t, nil
	case xml.EndElement:
		t.Name = g.name(t.Name)
		return t, nil
	}
	return tok, nil
}

// name renames a foreign element; the root itself is never renamed (its
// end tag's namespace is the root's).
func (g *guard) name(n xml.Name) xml.Name {
	if n.Space != g.space && n.Space != "" {
		n.Local = "{" + n.Space + "}" + n.Local
	}
	return n
}

// wrap classifies a decoding error.
func (g *guard) wrap(err error) error {
	switch {
	case errors.Is(err, ErrDoctype) || g.doctype:
		return ErrDoctype
	case err == io.EOF:
		return fmt.Errorf("%w: no root element", ErrNotXML)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: unexpected end of document", ErrNotXML)
	}
	return fmt.Errorf("%w: %w", ErrNotXML, err)
}

// charsetReader accepts the encodings that are UTF-8 or trivially
// convertible to it; CAP documents are UTF-8 in practice.
func charsetReader(charset string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "latin1", "latin-1":
		return latin1{in}, nil
	}
	return nil, fmt.Errorf("encoding %q is not supported; send UTF-8", clip(charset))
}

// latin1 converts ISO-8859-1 to UTF-8: each byte is the code point.
type latin1 struct{ r io.Reader }

func (l latin1) Read(p []byte) (int, error) {
	// Each input byte becomes at most 2 output bytes.
	if len(p) < 2 {
		return 0, io.ErrShortBuffer
	}
	buf := make([]byte, len(p)/2)
	n, err := l.r.Read(buf)
	out := p[:0]
	for _, c := range buf[:n] {
		out = utf8.AppendRune(out, rune(c))
	}
	return len(out), err
}

// The raw decoding structs hold every element as a list of strings, so that
// a repeated single-valued element is an error rather than silently the
// last one.
type rawAlert struct {
	Identifier  []string  `xml:"identifier"`
	Sender      []string  `xml:"sender"`
	Sent        []string  `xml:"sent"`
	Status      []string  `xml:"status"`
	MsgType     []string  `xml:"msgType"`
	Source      []string  `xml:"source"`
	Scope       []string  `xml:"scope"`
	Restriction []string  `xml:"restriction"`
	Addresses   []string  `xml:"addresses"`
	Code        []string  `xml:"code"`
	Note        []string  `xml:"note"`
	References  []string  `xml:"references"`
	Incidents   []string  `xml:"incidents"`
	Info        []rawInfo `xml:"info"`
}

type rawInfo struct {
	Language     []string      `xml:"language"`
	Category     []string      `xml:"category"`
	Event        []string      `xml:"event"`
	ResponseType []string      `xml:"responseType"`
	Urgency      []string      `xml:"urgency"`
	Severity     []string      `xml:"severity"`
	Certainty    []string      `xml:"certainty"`
	Audience     []string      `xml:"audience"`
	EventCode    []rawPair     `xml:"eventCode"`
	Effective    []string      `xml:"effective"`
	Onset        []string      `xml:"onset"`
	Expires      []string      `xml:"expires"`
	SenderName   []string      `xml:"senderName"`
	Headline     []string      `xml:"headline"`
	Description  []string      `xml:"description"`
	Instruction  []string      `xml:"instruction"`
	Web          []string      `xml:"web"`
	Contact      []string      `xml:"contact"`
	Parameter    []rawPair     `xml:"parameter"`
	Resource     []rawResource `xml:"resource"`
	Area         []rawArea     `xml:"area"`
}

type rawPair struct {
	ValueName []string `xml:"valueName"`
	Value     []string `xml:"value"`
}

type rawResource struct {
	ResourceDesc []string `xml:"resourceDesc"`
	MimeType     []string `xml:"mimeType"`
	Size         []string `xml:"size"`
	URI          []string `xml:"uri"`
	DerefURI     []string `xml:"derefUri"`
	Digest       []string `xml:"digest"`
}

type rawArea struct {
	AreaDesc []string  `xml:"areaDesc"`
	Polygon  []string  `xml:"polygon"`
	Circle   []string  `xml:"circle"`
	Geocode  []rawPair `xml:"geocode"`
	Altitude []string  `xml:"altitude"`
	Ceiling  []string  `xml:"ceiling"`
}

// reader collects the first conversion error, so the conversion code reads
// as a list of fields.
type reader struct{ err *ElementError }

func (r *reader) fail(element, problem string) {
	if r.err == nil {
		r.err = elemErr(element, problem)
	}
}

// one is the single value of an element that may appear at most once,
// trimmed; "" when absent.
func (r *reader) one(element string, vals []string) string {
	if len(vals) > 1 {
		r.fail(element, "appears "+strconv.Itoa(len(vals))+" times; at most once")
	}
	if len(vals) == 0 {
		return ""
	}
	return strings.TrimSpace(vals[0])
}

func (r *reader) time(element string, vals []string) time.Time {
	s := r.one(element, vals)
	if s == "" {
		return time.Time{}
	}
	t, ok := parseTime(s)
	if !ok {
		r.fail(element, strconv.Quote(clip(s))+" "+timeHint)
	}
	return t
}

func (r *reader) decimal(element string, vals []string) *float64 {
	s := r.one(element, vals)
	if s == "" {
		return nil
	}
	f, ok := parseDecimal(s)
	if !ok {
		r.fail(element, strconv.Quote(clip(s))+" is not a decimal number")
		return nil
	}
	return &f
}

func (r *reader) pairs(element string, raws []rawPair) []ValuePair {
	var out []ValuePair
	for i, p := range raws {
		el := element + "[" + strconv.Itoa(i) + "]"
		out = append(out, ValuePair{
			ValueName: r.one(el+".valueName", p.ValueName),
			Value:     r.one(el+".value", p.Value),
		})
	}
	return out
}

func trimAll(vals []string) []string {
	if len(vals) == 0 {
		return nil
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.TrimSpace(v)
	}
	return out
}

func (ra *rawAlert) alert() (*Alert, error) {
	var r reader
	a := &Alert{
		Identifier:  r.one("identifier", ra.Identifier),
		Sender:      r.one("sender", ra.Sender),
		Sent:        r.time("sent", ra.Sent),
		Status:      Status(r.one("status", ra.Status)),
		MsgType:     MsgType(r.one("msgType", ra.MsgType)),
		Source:      r.one("source", ra.Source),
		Scope:       Scope(r.one("scope", ra.Scope)),
		Restriction: r.one("restriction", ra.Restriction),
		Addresses:   r.one("addresses", ra.Addresses),
		Codes:       trimAll(ra.Code),
		Note:        r.one("note", ra.Note),
		Incidents:   r.one("incidents", ra.Incidents),
	}
	if s := r.one("references", ra.References); s != "" {
		refs, problem := parseReferences(s)
		if problem != "" {
			r.fail("references", problem)
		}
		a.References = refs
	}
	for i, ri := range ra.Info {
		a.Infos = append(a.Infos, ri.info(&r, "info["+strconv.Itoa(i)+"]"))
	}
	if r.err != nil {
		return nil, r.err
	}
	return a, nil
}

func (ri *rawInfo) info(r *reader, el string) Info {
	in := Info{
		Language:    strings.ReplaceAll(r.one(el+".language", ri.Language), "_", "-"),
		Event:       r.one(el+".event", ri.Event),
		Urgency:     Urgency(r.one(el+".urgency", ri.Urgency)),
		Severity:    Severity(r.one(el+".severity", ri.Severity)),
		Certainty:   Certainty(r.one(el+".certainty", ri.Certainty)),
		Audience:    r.one(el+".audience", ri.Audience),
		EventCodes:  r.pairs(el+".eventCode", ri.EventCode),
		Effective:   r.time(el+".effective", ri.Effective),
		Onset:       r.time(el+".onset", ri.Onset),
		Expires:     r.time(el+".expires", ri.Expires),
		SenderName:  r.one(el+".senderName", ri.SenderName),
		Headline:    r.one(el+".headline", ri.Headline),
		Description: r.one(el+".description", ri.Description),
		Instruction: r.one(el+".instruction", ri.Instruction),
		Web:         normURI(r.one(el+".web", ri.Web)),
		Contact:     r.one(el+".contact", ri.Contact),
		Parameters:  r.pairs(el+".parameter", ri.Parameter),
	}
	if in.Certainty == CertaintyVeryLikely {
		in.Certainty = CertaintyLikely
	}
	for _, c := range trimAll(ri.Category) {
		in.Categories = append(in.Categories, Category(c))
	}
	for _, t := range trimAll(ri.ResponseType) {
		in.ResponseTypes = append(in.ResponseTypes, ResponseType(t))
	}
	for i, rr := range ri.Resource {
		rel := el + ".resource[" + strconv.Itoa(i) + "]"
		res := Resource{
			ResourceDesc: r.one(rel+".resourceDesc", rr.ResourceDesc),
			MimeType:     r.one(rel+".mimeType", rr.MimeType),
			URI:          normURI(r.one(rel+".uri", rr.URI)),
			DerefURI:     r.one(rel+".derefUri", rr.DerefURI),
			Digest:       r.one(rel+".digest", rr.Digest),
		}
		if res.MimeType == "" {
			res.MimeType = "application/octet-stream"
		}
		if s := r.one(rel+".size", rr.Size); s != "" {
			n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
			if err != nil || n < 0 {
				r.fail(rel+".size", strconv.Quote(clip(s))+" is not a size in bytes")
			}
			res.Size = n
		}
		in.Resources = append(in.Resources, res)
	}
	for i, ra := range ri.Area {
		ael := el + ".area[" + strconv.Itoa(i) + "]"
		ar := Area{
			AreaDesc: r.one(ael+".areaDesc", ra.AreaDesc),
			Geocodes: r.pairs(ael+".geocode", ra.Geocode),
			Altitude: r.decimal(ael+".altitude", ra.Altitude),
			Ceiling:  r.decimal(ael+".ceiling", ra.Ceiling),
		}
		for j, s := range ra.Polygon {
			p, problem := parsePolygon(s)
			if problem != "" {
				r.fail(ael+".polygon["+strconv.Itoa(j)+"]", problem)
			}
			ar.Polygons = append(ar.Polygons, p)
		}
		for j, s := range ra.Circle {
			c, problem := parseCircle(s)
			if problem != "" {
				r.fail(ael+".circle["+strconv.Itoa(j)+"]", problem)
			}
			ar.Circles = append(ar.Circles, c)
		}
		in.Areas = append(in.Areas, ar)
	}
	return in
}
