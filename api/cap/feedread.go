package cap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Reading feeds of CAP alerts (docs/API.md v1.6, "Feeds in"): an Atom
// feed (RFC 4287, as the hub's own /alerts.atom, Google Public Alerts and
// many national systems) or an RSS 2.0 feed (as the NWS's older feeds and
// the Chinese 12379 feeds) whose entries link to CAP documents.

// FeedItem is one entry of a feed: where its CAP document is, or the
// document itself when the entry carries it inline.
type FeedItem struct {
	ID     string // the entry's id (Atom) or guid (RSS); "" when none
	CAPURL string // the CAP document's link; "" when inline
	Inline []byte // an <alert> inside the entry's content, as XML; nil when none
}

// MaxFeedItems is how many entries ParseFeed reads; the rest are left out.
const MaxFeedItems = 500

// ParseFeed reads the entries of an Atom or RSS feed (at most MaxSize
// bytes; DOCTYPE and ENTITY declarations refused as in Parse). For each
// entry: the href of its first <link> with type application/cap+xml,
// else of its rel="alternate" (or rel-less) link; RSS: its <enclosure
// url> of that type, else its <link>; or an <alert> carried in it. An
// entry with none of them is left out.
func ParseFeed(data []byte) ([]FeedItem, error) {
	if len(data) > MaxSize {
		return nil, ErrTooLarge
	}
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	d.Strict = true
	d.CharsetReader = charsetReader
	var items []FeedItem
	var cur *FeedItem
	var capLink, altLink string
	var path []string
	var text strings.Builder
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotXML, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, ErrDoctype
		case xml.StartElement:
			name := t.Name.Local
			if root == "" {
				root = name
				if name != "feed" && name != "rss" && name != "RDF" {
					return nil, errors.New("cap: feed: not an Atom or RSS feed (root <" + name + ">)")
				}
			}
			path = append(path, name)
			text.Reset()
			switch {
			case (name == "entry" || name == "item") && cur == nil:
				cur, capLink, altLink = &FeedItem{}, "", ""
			case cur != nil && name == "alert":
				// An inline CAP alert: re-encode it whole.
				var buf bytes.Buffer
				enc := xml.NewEncoder(&buf)
				if err := copyElement(d, enc, t); err != nil {
					return nil, fmt.Errorf("%w: %w", ErrNotXML, err)
				}
				if err := enc.Flush(); err != nil {
					return nil, err
				}
				cur.Inline = buf.Bytes()
				path = path[:len(path)-1]
			case cur != nil && name == "link":
				var href, rel, typ string
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "href":
						href = strings.TrimSpace(a.Value)
					case "rel":
						rel = a.Value
					case "type":
						typ = a.Value
					}
				}
				if href != "" && strings.HasPrefix(typ, ContentType) && capLink == "" {
					capLink = href
				}
				if href != "" && (rel == "" || rel == "alternate") && altLink == "" {
					altLink = href
				}
			case cur != nil && name == "enclosure":
				var url, typ string
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "url":
						url = strings.TrimSpace(a.Value)
					case "type":
						typ = a.Value
					}
				}
				if url != "" && strings.HasPrefix(typ, ContentType) && capLink == "" {
					capLink = url
				}
			}
		case xml.CharData:
			if text.Len() < 4096 {
				text.Write(t)
			}
		case xml.EndElement:
			name := t.Name.Local
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
			if cur == nil {
				break
			}
			v := strings.TrimSpace(text.String())
			switch name {
			case "id", "guid":
				if cur.ID == "" {
					cur.ID = v
				}
			case "link":
				if v != "" && altLink == "" { // RSS: <link>url</link>
					altLink = v
				}
			case "entry", "item":
				cur.CAPURL = capLink
				if cur.CAPURL == "" && cur.Inline == nil {
					cur.CAPURL = altLink
				}
				if (cur.CAPURL != "" || cur.Inline != nil) && len(items) < MaxFeedItems {
					items = append(items, *cur)
				}
				cur = nil
			}
			text.Reset()
		}
	}
	if root == "" {
		return nil, fmt.Errorf("%w: no root element", ErrNotXML)
	}
	return items, nil
}

// copyElement writes start and everything up to its end to enc.
func copyElement(d *xml.Decoder, enc *xml.Encoder, start xml.StartElement) error {
	if err := enc.EncodeToken(start.Copy()); err != nil {
		return err
	}
	depth := 1
	for depth > 0 {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return ErrDoctype
		case xml.StartElement:
			depth++
			tok = t.Copy()
		case xml.EndElement:
			depth--
		case xml.ProcInst, xml.Comment:
			continue
		}
		if err := enc.EncodeToken(xml.CopyToken(tok)); err != nil {
			return err
		}
	}
	return nil
}
