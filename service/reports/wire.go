package reports

import (
	"encoding/json"
	"time"

	"github.com/longyou/hub/storage"
)

// Report is a report as clients receive it (docs/API.md): the body of the
// report event, stored as JSON bytes in the event log and replayed as it
// was stored, and the same object in the API's answers (HTTP and the
// WebSocket report reply). Its JSON must not change: the pages and the
// load tester read it, and old event bodies are replayed beside new ones.
type Report struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Text      string    `json:"text"`
	Lat       float64   `json:"lat"`
	Lng       float64   `json:"lng"`
	Photos    []string  `json:"photos"` // [] when none: the stores read back an empty list
	MemberID  string    `json:"member_id"`
	VillageID string    `json:"village_id"`
	Status    string    `json:"status"`
	Feedback  string    `json:"feedback"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	DueAt     time.Time `json:"due_at"`
	Seq       int64     `json:"seq"` // seq of its latest event; 0 in the event body
	ClientID  string    `json:"client_id,omitempty"`
	// Place is where it is in words (docs/API.md v1.3); nil when the
	// service that built the view knows no places.
	Place *Place `json:"place,omitempty"`
	// UpdatedBy (v1.6): the member who last changed its status or
	// feedback; left out before any change.
	UpdatedBy string `json:"updated_by,omitempty"`
	// Handling (docs/API.md v1.6 "report handling"): VillageID is the
	// village where it is, ReporterVillageID the reporter's own.
	ReporterVillageID string    `json:"reporter_village_id"`
	AssigneeID        string    `json:"assignee_id"` // "" none
	Level             string    `json:"level"`       // village, township, county
	Overdue           bool      `json:"overdue"`
	EscalateAt        time.Time `json:"escalate_at,omitzero"` // to the township, if still open
	CountyAt          time.Time `json:"county_at,omitzero"`   // to the county, if still open
	ClosedAt          time.Time `json:"closed_at,omitzero"`   // when it reached a final status
	// The board (v1.6): visibility, the rectification ("after") photos,
	// the like and urge counts, and, in answers to one member only,
	// whether that member liked or urged it (absent in event bodies).
	Visibility          string   `json:"visibility"`
	RectificationPhotos []string `json:"rectification_photos"`
	Likes               int      `json:"likes"`
	Urges               int      `json:"urges"`
	Liked               *bool    `json:"liked,omitempty"`
	Urged               *bool    `json:"urged,omitempty"`
}

// Place is a position in words: its village and the nearest named road,
// river or hamlet of the travel network.
type Place struct {
	Village string `json:"village"`
	Name    string `json:"name"`
	Kind    string `json:"kind,omitempty"`
	DistM   int    `json:"dist_m"`
}

// View is the wire form of a stored report.
func View(r *storage.Report) Report {
	return Report{ID: r.ID, Kind: r.Kind, Text: r.Text, Lat: r.Lat, Lng: r.Lng, Photos: r.Photos,
		MemberID: r.MemberID, VillageID: r.VillageID, Status: r.Status, Feedback: r.Feedback,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DueAt: r.DueAt, Seq: r.Seq, ClientID: r.ClientID,
		UpdatedBy:         r.UpdatedBy,
		ReporterVillageID: r.ReporterVillageID, AssigneeID: r.AssigneeID, Level: level(r.Level), Overdue: r.Overdue,
		EscalateAt: r.EscalateAt, CountyAt: r.CountyAt, ClosedAt: r.ClosedAt,
		Visibility: cmpOr(r.Visibility, storage.VisibilityPrivate), RectificationPhotos: nonNil(r.RectificationPhotos),
		Likes: r.Likes, Urges: r.Urges}
}

// level is a stored level, "" (a report older than levels) as village.
func level(l string) string {
	if l == "" {
		return storage.LevelVillage
	}
	return l
}

// Views is the wire form of a list of reports; nil stays nil.
func Views(rs []storage.Report) []Report {
	if rs == nil {
		return nil
	}
	out := make([]Report, len(rs))
	for i := range rs {
		out[i] = View(&rs[i])
	}
	return out
}

// EventBody is the body of the report event of r: its wire form with seq
// 0 (the event's own seq travels in the frame around it).
func EventBody(r *storage.Report) json.RawMessage {
	v := View(r)
	v.Seq = 0
	body, _ := json.Marshal(&v)
	return body
}
