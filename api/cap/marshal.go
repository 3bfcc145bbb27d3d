package cap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MarshalCAP writes the alert as a CAP 1.2 document, valid against the OASIS
// CAP 1.2 schema: the elements in the schema's order, times with a numeric
// offset ("-00:00" for UTC, never "Z") and whole seconds, 1.1's
// "Very Likely" written as "Likely". It checks the alert with Validate
// first and writes nothing for an invalid one.
func (a *Alert) MarshalCAP() ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	x := xAlert{
		Identifier:  text(a.Identifier),
		Sender:      text(a.Sender),
		Sent:        text(formatTime(a.Sent)),
		Status:      text(a.Status),
		MsgType:     text(a.MsgType),
		Source:      text(a.Source),
		Scope:       text(a.Scope),
		Restriction: text(a.Restriction),
		Addresses:   text(a.Addresses),
		Codes:       texts(a.Codes),
		Note:        text(a.Note),
		References:  text(formatReferences(a.References)),
		Incidents:   text(a.Incidents),
	}
	for i := range a.Infos {
		x.Infos = append(x.Infos, xinfo(&a.Infos[i]))
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	e := xml.NewEncoder(&b)
	e.Indent("", "  ")
	if err := e.Encode(x); err != nil {
		return nil, fmt.Errorf("cap: encode: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func xinfo(in *Info) xInfo {
	x := xInfo{
		Language:      text(in.Language),
		Categories:    texts(in.Categories),
		Event:         text(in.Event),
		ResponseTypes: texts(in.ResponseTypes),
		Urgency:       text(in.Urgency),
		Severity:      text(in.Severity),
		Certainty:     text(in.Certainty),
		Audience:      text(in.Audience),
		EventCodes:    xpairs(in.EventCodes),
		Effective:     optTime(in.Effective),
		Onset:         optTime(in.Onset),
		Expires:       optTime(in.Expires),
		SenderName:    text(in.SenderName),
		Headline:      text(in.Headline),
		Description:   text(in.Description),
		Instruction:   text(in.Instruction),
		Web:           text(normURI(in.Web)),
		Contact:       text(in.Contact),
		Parameters:    xpairs(in.Parameters),
	}
	if in.Certainty == CertaintyVeryLikely {
		x.Certainty = text(CertaintyLikely)
	}
	for _, r := range in.Resources {
		xr := xResource{
			ResourceDesc: text(r.ResourceDesc),
			MimeType:     text(r.MimeType),
			URI:          text(normURI(r.URI)),
			DerefURI:     text(r.DerefURI),
			Digest:       text(r.Digest),
		}
		if r.Size > 0 {
			xr.Size = text(strconv.FormatInt(r.Size, 10))
		}
		x.Resources = append(x.Resources, xr)
	}
	for _, ar := range in.Areas {
		xa := xArea{AreaDesc: text(ar.AreaDesc), Geocodes: xpairs(ar.Geocodes)}
		for _, p := range ar.Polygons {
			xa.Polygons = append(xa.Polygons, text(formatPolygon(p)))
		}
		for _, c := range ar.Circles {
			xa.Circles = append(xa.Circles, text(formatCircle(c)))
		}
		if ar.Altitude != nil {
			xa.Altitude = text(formatDecimal(*ar.Altitude))
		}
		if ar.Ceiling != nil {
			xa.Ceiling = text(formatDecimal(*ar.Ceiling))
		}
		x.Areas = append(x.Areas, xa)
	}
	return x
}

func xpairs(ps []ValuePair) []xPair {
	out := make([]xPair, len(ps))
	for i, p := range ps {
		out[i] = xPair{ValueName: text(p.ValueName), Value: text(p.Value)}
	}
	return out
}

func texts[S ~string](ss []S) []text {
	out := make([]text, len(ss))
	for i, s := range ss {
		out[i] = text(s)
	}
	return out
}

func optTime(t time.Time) text {
	if t.IsZero() {
		return ""
	}
	return text(formatTime(t))
}

// text is element content, written the way people read it: line breaks and
// quotes as they are (encoding/xml would write &#xA; and &#34;), only &, <
// and > escaped, \r as &#xD; (a parser would read a bare one as \n), and
// characters XML cannot carry replaced by U+FFFD.
type text string

// MarshalXML implements xml.Marshaler.
func (t text) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(struct {
		S string `xml:",innerxml"`
	}{escape(string(t))}, start)
}

func escape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\t' || r == '\n' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= utf8.MaxRune:
			b.WriteRune(r)
		default:
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String()
}

// The encoding structs list the elements in the order of the schema's
// sequences; encoding/xml writes fields in declaration order.
type xAlert struct {
	XMLName     xml.Name `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
	Identifier  text     `xml:"identifier"`
	Sender      text     `xml:"sender"`
	Sent        text     `xml:"sent"`
	Status      text     `xml:"status"`
	MsgType     text     `xml:"msgType"`
	Source      text     `xml:"source,omitempty"`
	Scope       text     `xml:"scope"`
	Restriction text     `xml:"restriction,omitempty"`
	Addresses   text     `xml:"addresses,omitempty"`
	Codes       []text   `xml:"code"`
	Note        text     `xml:"note,omitempty"`
	References  text     `xml:"references,omitempty"`
	Incidents   text     `xml:"incidents,omitempty"`
	Infos       []xInfo  `xml:"info"`
}

type xInfo struct {
	Language      text        `xml:"language,omitempty"`
	Categories    []text      `xml:"category"`
	Event         text        `xml:"event"`
	ResponseTypes []text      `xml:"responseType"`
	Urgency       text        `xml:"urgency"`
	Severity      text        `xml:"severity"`
	Certainty     text        `xml:"certainty"`
	Audience      text        `xml:"audience,omitempty"`
	EventCodes    []xPair     `xml:"eventCode"`
	Effective     text        `xml:"effective,omitempty"`
	Onset         text        `xml:"onset,omitempty"`
	Expires       text        `xml:"expires,omitempty"`
	SenderName    text        `xml:"senderName,omitempty"`
	Headline      text        `xml:"headline,omitempty"`
	Description   text        `xml:"description,omitempty"`
	Instruction   text        `xml:"instruction,omitempty"`
	Web           text        `xml:"web,omitempty"`
	Contact       text        `xml:"contact,omitempty"`
	Parameters    []xPair     `xml:"parameter"`
	Resources     []xResource `xml:"resource"`
	Areas         []xArea     `xml:"area"`
}

type xPair struct {
	ValueName text `xml:"valueName"`
	Value     text `xml:"value"`
}

type xResource struct {
	ResourceDesc text `xml:"resourceDesc"`
	MimeType     text `xml:"mimeType"`
	Size         text `xml:"size,omitempty"`
	URI          text `xml:"uri,omitempty"`
	DerefURI     text `xml:"derefUri,omitempty"`
	Digest       text `xml:"digest,omitempty"`
}

type xArea struct {
	AreaDesc text    `xml:"areaDesc"`
	Polygons []text  `xml:"polygon"`
	Circles  []text  `xml:"circle"`
	Geocodes []xPair `xml:"geocode"`
	Altitude text    `xml:"altitude,omitempty"`
	Ceiling  text    `xml:"ceiling,omitempty"`
}
