package cap

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseFeed(t *testing.T) {
	orange, err := os.ReadFile("testdata/cma-rainstorm-orange.xml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(orange)
	if err != nil {
		t.Fatal(err)
	}
	// The hub's own Atom feed reads back.
	own, err := Feed("预警", "https://hub.example/api/v1/alerts.atom", time.Now(),
		[]FeedEntry{EntryFor(m, "https://hub.example/api/v1/alerts/a1/cap", "zh-CN")})
	if err != nil {
		t.Fatal(err)
	}
	items, err := ParseFeed(own)
	if err != nil || len(items) != 1 || items[0].CAPURL != "https://hub.example/api/v1/alerts/a1/cap" {
		t.Fatalf("own feed: %v %+v", err, items)
	}
	// RSS with an enclosure, a plain link, and an inline alert.
	body := string(orange[strings.Index(string(orange), "<alert"):])
	rss := `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>x</title>
<item><title>a</title><guid>g1</guid><link>https://x/page</link><enclosure url="https://x/a.xml" type="application/cap+xml" length="1"/></item>
<item><title>b</title><link> https://x/b.xml </link></item>
<item><title>c</title><description>none</description></item>
<item><guid>g3</guid><content>` + body + `</content></item>
</channel></rss>`
	items, err = ParseFeed([]byte(rss))
	if err != nil || len(items) != 3 {
		t.Fatalf("rss: %v %+v", err, items)
	}
	if items[0].CAPURL != "https://x/a.xml" || items[0].ID != "g1" || items[1].CAPURL != "https://x/b.xml" || items[2].Inline == nil {
		t.Fatalf("rss items: %+v", items)
	}
	if in, err := Parse(items[2].Inline); err != nil || in.Identifier != m.Identifier {
		t.Fatalf("inline alert: %v", err)
	}
	for _, bad := range []string{"", "nope", `<html/>`, `<!DOCTYPE feed [<!ENTITY x "y">]><feed/>`} {
		if _, err := ParseFeed([]byte(bad)); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	if _, err := ParseFeed([]byte(`<!DOCTYPE feed><feed/>`)); !errors.Is(err, ErrDoctype) {
		t.Errorf("DOCTYPE: %v", err)
	}
}

func FuzzParseFeed(f *testing.F) {
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><link rel="alternate" type="application/cap+xml" href="https://x/1.xml"/></entry></feed>`))
	f.Add([]byte(`<rss><channel><item><link>https://x</link><alert><identifier>x</identifier></alert></item></channel></rss>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := ParseFeed(data)
		if err != nil {
			return
		}
		if len(items) > MaxFeedItems {
			t.Fatalf("%d items", len(items))
		}
		for _, it := range items {
			if it.CAPURL == "" && it.Inline == nil {
				t.Fatalf("an item without a document: %+v", it)
			}
			if it.Inline != nil {
				_, _ = Parse(it.Inline) // never panics
			}
		}
	})
}
