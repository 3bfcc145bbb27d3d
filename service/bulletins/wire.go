package bulletins

import (
	"encoding/json"
	"time"

	"github.com/longyou/hub/storage"
)

// Bulletin is a bulletin as clients receive it (docs/API.md): the body of
// the bulletin event, stored as JSON bytes in the event log and replayed as
// it was stored, and the same object in the API's answers. Its JSON must
// not change.
type Bulletin struct {
	ID          string    `json:"id"`
	VillageID   string    `json:"village_id"` // "" county-wide
	Category    string    `json:"category"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	AuthorID    string    `json:"author_id"`
	PublishedAt time.Time `json:"published_at"`
	Seq         int64     `json:"seq"` // 0 in the event body, written before the seq is known
}

// View is the wire form of a stored bulletin.
func View(b *storage.Bulletin) Bulletin {
	return Bulletin{ID: b.ID, VillageID: b.VillageID, Category: b.Category, Title: b.Title, Body: b.Body,
		AuthorID: b.AuthorID, PublishedAt: b.PublishedAt, Seq: b.Seq}
}

// Views is the wire form of a list of bulletins; nil stays nil.
func Views(bs []storage.Bulletin) []Bulletin {
	if bs == nil {
		return nil
	}
	out := make([]Bulletin, len(bs))
	for i := range bs {
		out[i] = View(&bs[i])
	}
	return out
}

// EventBody is the body of the bulletin event of b (its seq is 0: the
// event's own seq travels in the frame around it).
func EventBody(b *storage.Bulletin) json.RawMessage {
	v := View(b)
	v.Seq = 0
	body, _ := json.Marshal(&v)
	return body
}
