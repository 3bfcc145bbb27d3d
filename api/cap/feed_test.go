package cap

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestFeed(t *testing.T) {
	t.Parallel()
	orange := mustParseFile(t, "cma-rainstorm-orange.xml")
	flood := mustParseFile(t, "cap11-flood-exercise.xml")
	e1 := EntryFor(orange, "https://hub.example/api/v1/alerts/a1", "")
	e1.ID = "urn:uuid:6c1a9f1e-0000-4000-8000-000000000001"
	e1.Published = orange.Sent
	e2 := EntryFor(flood, "https://hub.example/api/v1/alerts/a2", "en")
	updated := time.Date(2026, 6, 15, 9, 10, 0, 0, time.FixedZone("", 8*3600))

	out, err := Feed("龙游县预警信息", "https://hub.example/api/v1/alerts.atom", updated, []FeedEntry{e1, e2})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), xml.Header) {
		t.Errorf("no XML declaration:\n%s", out)
	}
	var f struct {
		XMLName xml.Name
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Author  string `xml:"author>name"`
		Links   []struct {
			Rel  string `xml:"rel,attr"`
			Type string `xml:"type,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Entries []struct {
			ID        string `xml:"id"`
			Title     string `xml:"title"`
			Updated   string `xml:"updated"`
			Published string `xml:"published"`
			Author    string `xml:"author>name"`
			Summary   string `xml:"summary"`
			Link      struct {
				Rel  string `xml:"rel,attr"`
				Type string `xml:"type,attr"`
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(out, &f); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if f.XMLName.Space != "http://www.w3.org/2005/Atom" || f.XMLName.Local != "feed" {
		t.Errorf("root = %v", f.XMLName)
	}
	if f.ID != "https://hub.example/api/v1/alerts.atom" || f.Title != "龙游县预警信息" || f.Author != "龙游县预警信息" ||
		f.Updated != "2026-06-15T01:10:00Z" {
		t.Errorf("feed = %+v", f)
	}
	if len(f.Links) != 1 || f.Links[0].Rel != "self" || f.Links[0].Href != f.ID {
		t.Errorf("links = %+v", f.Links)
	}
	if len(f.Entries) != 2 {
		t.Fatalf("%d entries", len(f.Entries))
	}
	got := f.Entries[0]
	if got.ID != e1.ID || got.Title != "龙游县气象台发布暴雨橙色预警[II级/严重]" || got.Author != "龙游县气象台" ||
		got.Updated != "2026-06-15T00:30:00Z" || got.Published != "2026-06-15T00:30:00Z" ||
		!strings.HasPrefix(got.Summary, "龙游县气象台2026年06月15日") {
		t.Errorf("entry 0 = %+v", got)
	}
	if got.Link.Rel != "alternate" || got.Link.Type != "application/cap+xml" || got.Link.Href != "https://hub.example/api/v1/alerts/a1" {
		t.Errorf("entry 0 link = %+v", got.Link)
	}
	// The flood warning has only zh-CN: asked for English it falls back to
	// Chinese; without an ID the CAP URL is the ID.
	if got := f.Entries[1]; got.ID != "https://hub.example/api/v1/alerts/a2" || got.Title != "【演练】灵山港沿线山洪预警" || got.Published != "" {
		t.Errorf("entry 1 = %+v", got)
	}

	empty, err := Feed("x", "https://hub.example/feed", updated, nil)
	if err != nil || strings.Contains(string(empty), "<entry") {
		t.Errorf("empty feed: %v\n%s", err, empty)
	}
}

func TestFeedErrors(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	ok := FeedEntry{Title: "t", Updated: now, CAPURL: "https://hub.example/a/1"}
	tests := []struct {
		name    string
		title   string
		self    string
		updated time.Time
		entry   func(e *FeedEntry)
		want    string
	}{
		{"no title", "", "https://hub.example/f", now, nil, "title"},
		{"relative self", "x", "/api/v1/alerts.atom", now, nil, "self URL"},
		{"no updated", "x", "https://hub.example/f", time.Time{}, nil, "updated"},
		{"entry title", "x", "https://hub.example/f", now, func(e *FeedEntry) { e.Title = "" }, "entry 0: title"},
		{"entry CAP URL", "x", "https://hub.example/f", now, func(e *FeedEntry) { e.CAPURL = "a/1" }, "entry 0: CAP URL"},
		{"entry updated", "x", "https://hub.example/f", now, func(e *FeedEntry) { e.Updated = time.Time{} }, "entry 0: updated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := ok
			if tt.entry != nil {
				tt.entry(&e)
			}
			out, err := Feed(tt.title, tt.self, tt.updated, []FeedEntry{e})
			if err == nil || !strings.Contains(err.Error(), tt.want) || out != nil {
				t.Fatalf("Feed = %d bytes, %v; want an error about %q", len(out), err, tt.want)
			}
		})
	}
}

// An alert without info (a bare Cancel) still gets a title.
func TestEntryForWithoutInfo(t *testing.T) {
	t.Parallel()
	a := &Alert{Identifier: "c-1", MsgType: MsgCancel, Sent: time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)}
	if e := EntryFor(a, "https://hub.example/a/c-1", "zh-CN"); e.Title != "Cancel c-1" || !e.Updated.Equal(a.Sent) {
		t.Errorf("entry = %+v", e)
	}
}
