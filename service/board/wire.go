package board

import (
	"time"
	"unicode/utf8"

	"github.com/longyou/hub/service/reports"
	"github.com/longyou/hub/storage"
)

// Report is a public report as the village's board shows it
// (docs/API.md v1.6 board): no reporter id, phone or position: the
// reporter's name masked, and where it is in words.
type Report struct {
	ID                  string         `json:"id"`
	VillageID           string         `json:"village_id"`
	Kind                string         `json:"kind"`
	Text                string         `json:"text"`
	Photos              []string       `json:"photos"`
	RectificationPhotos []string       `json:"rectification_photos"`
	Status              string         `json:"status"`
	Feedback            string         `json:"feedback"`
	Reporter            string         `json:"reporter"`
	Place               *reports.Place `json:"place,omitempty"`
	CreatedAt           time.Time      `json:"created_at"`
	UpdatedAt           time.Time      `json:"updated_at"`
	Likes               int            `json:"likes"`
	Urges               int            `json:"urges"`
	Liked               *bool          `json:"liked,omitempty"`
	Urged               *bool          `json:"urged,omitempty"`
}

// Deed is a good deed as clients receive it. AuthorID and HouseholdID
// are shown to its author and to staff only (Author, the masked name, to
// everyone).
type Deed struct {
	ID          string     `json:"id"`
	VillageID   string     `json:"village_id"`
	Title       string     `json:"title"`
	Text        string     `json:"text"`
	Photos      []string   `json:"photos"`
	About       string     `json:"about"`
	HouseholdID string     `json:"household_id,omitempty"`
	Author      string     `json:"author"`
	AuthorID    string     `json:"author_id,omitempty"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	Likes       int        `json:"likes"`
	Liked       *bool      `json:"liked,omitempty"`
}

// Item is one item of the board: a public report or a confirmed deed.
type Item struct {
	Type   string  `json:"type"` // "report" or "deed"
	Report *Report `json:"report,omitempty"`
	Deed   *Deed   `json:"deed,omitempty"`
}

// Rate is a village's rectification rate: Resolved / Counted, where
// Counted is its public reports that were not rejected; Rate is nil when
// Counted is zero.
type Rate struct {
	Public   int      `json:"public"`
	Counted  int      `json:"counted"`
	Resolved int      `json:"resolved"`
	Rate     *float64 `json:"rate"`
}

// EventBody is the body of a board event: the village and the item as it
// is now (liked and urged absent).
type EventBody struct {
	VillageID string `json:"village_id"`
	Item      Item   `json:"item"`
}

// Counts is the answer to a like or an urge.
type Counts struct {
	Likes int   `json:"likes"`
	Urges int   `json:"urges"`
	Liked bool  `json:"liked"`
	Urged *bool `json:"urged,omitempty"` // reports only
}

// RateOf is the rate of a tally.
func RateOf(t storage.BoardTally) Rate {
	r := Rate{Public: t.Public, Counted: t.Public - t.Rejected, Resolved: t.Resolved}
	if r.Counted > 0 {
		x := float64(r.Resolved) / float64(r.Counted)
		r.Rate = &x
	}
	return r
}

// maxStars is the most stars Mask writes, so a long name's length shows
// no more than a short one's.
const maxStars = 2

// Mask is how the board names a person: the first character, then one
// star per further character, at most maxStars ("张三" -> "张*", "欧阳娜娜"
// -> "欧**"); "" stays "".
func Mask(name string) string {
	if name == "" {
		return ""
	}
	r, size := utf8.DecodeRuneInString(name)
	n := min(max(utf8.RuneCountInString(name[size:]), 1), maxStars)
	out := string(r)
	for range n {
		out += "*"
	}
	return out
}

func reportView(r *storage.Report, reporter string, place *reports.Place) Report {
	return Report{ID: r.ID, VillageID: r.VillageID, Kind: r.Kind, Text: r.Text, Photos: nonNil(r.Photos),
		RectificationPhotos: nonNil(r.RectificationPhotos), Status: r.Status, Feedback: r.Feedback,
		Reporter: Mask(reporter), Place: place, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Likes: r.Likes, Urges: r.Urges}
}

// DeedView is the wire form of a deed; withAuthor shows its author's id.
func DeedView(d *storage.Deed, author string, withAuthor bool) Deed {
	v := Deed{ID: d.ID, VillageID: d.VillageID, Title: d.Title, Text: d.Text, Photos: nonNil(d.Photos),
		About: d.About, Author: Mask(author), Status: d.Status, CreatedAt: d.CreatedAt, Likes: d.Likes}
	if withAuthor {
		v.AuthorID, v.HouseholdID = d.AuthorID, d.HouseholdID
	}
	if !d.DecidedAt.IsZero() {
		t := d.DecidedAt
		v.DecidedAt = &t
	}
	return v
}

func nonNil(p []string) []string {
	if p == nil {
		return []string{}
	}
	return p
}

// PublicView is the board's view of a public report whose reporter is
// named reporter (masked here) and which is at place.
func PublicView(r *storage.Report, reporter string, place *reports.Place) Report {
	return reportView(r, reporter, place)
}
