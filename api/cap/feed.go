package cap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// ContentType is the media type of a CAP document (RFC 4287 links and HTTP
// Content-Type / Accept).
const ContentType = "application/cap+xml"

// FeedEntry is one active alert in an Atom feed.
type FeedEntry struct {
	// ID is the entry's permanent, unique IRI; empty means CAPURL. Keep it
	// the same for every version of one alert when updates replace it.
	ID        string
	Title     string    // required: the headline
	Summary   string    // optional plain text
	Author    string    // optional: the sender's name; the feed's title when empty
	Updated   time.Time // required: when the alert last changed
	Published time.Time // optional: when it was first sent
	CAPURL    string    // required: the CAP document, linked as rel="alternate" type="application/cap+xml"
}

// EntryFor makes the feed entry of an alert whose CAP document is at
// capURL, in the info InfoFor(lang) picks: the title (headline, else event),
// the description as summary, senderName as author, sent as updated.
func EntryFor(a *Alert, capURL, lang string) FeedEntry {
	e := FeedEntry{CAPURL: capURL, Updated: a.Sent}
	if in := a.InfoFor(lang); in != nil {
		e.Title = Title(in)
		e.Summary = in.Description
		e.Author = in.SenderName
	}
	if e.Title == "" {
		e.Title = string(a.MsgType) + " " + a.Identifier
	}
	return e
}

// Feed writes an Atom (RFC 4287) feed of alerts, as CAP aggregators read
// them: a feed identified by and linking to selfURL, titled and authored
// title, and one entry per alert linking to its CAP document. Every URL
// must be absolute; a missing title, CAP link or time is an error.
func Feed(title, selfURL string, updated time.Time, entries []FeedEntry) ([]byte, error) {
	switch {
	case title == "":
		return nil, errors.New("cap: feed: title is required")
	case !absURL(selfURL):
		return nil, fmt.Errorf("cap: feed: self URL %q is not an absolute URL", selfURL)
	case updated.IsZero():
		return nil, errors.New("cap: feed: updated is required")
	}
	f := atomFeed{
		ID:      selfURL,
		Title:   title,
		Updated: atomTime(updated),
		Author:  &atomPerson{Name: title},
		Links:   []atomLink{{Rel: "self", Type: "application/atom+xml", Href: selfURL}},
	}
	for i, e := range entries {
		where := "cap: feed: entry " + strconv.Itoa(i) + ": "
		switch {
		case e.Title == "":
			return nil, errors.New(where + "title is required")
		case !absURL(e.CAPURL):
			return nil, fmt.Errorf(where+"CAP URL %q is not an absolute URL", e.CAPURL)
		case e.Updated.IsZero():
			return nil, errors.New(where + "updated is required")
		}
		id := e.ID
		if id == "" {
			id = e.CAPURL
		}
		ae := atomEntry{
			ID:      id,
			Title:   e.Title,
			Updated: atomTime(e.Updated),
			Links:   []atomLink{{Rel: "alternate", Type: ContentType, Href: e.CAPURL}},
		}
		if e.Summary != "" {
			ae.Summary = &atomText{Type: "text", Text: e.Summary}
		}
		if e.Author != "" {
			ae.Author = &atomPerson{Name: e.Author}
		}
		if !e.Published.IsZero() {
			ae.Published = atomTime(e.Published)
		}
		f.Entries = append(f.Entries, ae)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("cap: feed: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func absURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.IsAbs() && u.Host != ""
}

// atomTime is RFC 3339 in UTC, whole seconds (Atom allows "Z").
func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  *atomPerson `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomEntry struct {
	ID        string      `xml:"id"`
	Title     string      `xml:"title"`
	Updated   string      `xml:"updated"`
	Published string      `xml:"published,omitempty"`
	Author    *atomPerson `xml:"author"`
	Summary   *atomText   `xml:"summary"`
	Links     []atomLink  `xml:"link"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}
