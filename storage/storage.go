// Package storage defines the hub's durable records and the Store contract
// that every backend (storage/sqlite, storage/postgres) implements.
//
// The contract lives here rather than in hub because two backends and one
// conformance suite (storage/storetest) share it, as river's riverdriver does;
// hub is its only caller.
//
// Every write method is durable when it returns nil: the data survives a
// power cut or kill -9 the moment after. Every method that appends an event
// assigns the event's seq inside the same transaction that writes the
// record, so a record and its event are visible together or not at all, and
// seq order equals visibility order (see each backend for how).
//
// The records carry no JSON tags: they are the tables' shape, not the
// wire's. What clients receive is built from them by the wire types of api
// and, for the objects stored as JSON in the event log (Event.Body), of
// the service that emits the event; so the tables and the contract
// (docs/API.md) can change apart. No backend serializes a record into a
// column (they store columns, and JSON only of plain lists and of their
// own private types), so no record keeps a tag for a column format. The
// SMS outbox types (SMS, SMSResult, SMSCounts) are left as they were while
// the outbox moves to notify.
package storage

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"time"
)

// Sentinel errors every backend returns (wrapped or not) for expected cases.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique key is taken, or the record is not in the state
	// the write expects (cancelling an alert that is no longer active, a
	// report whose status changed meanwhile).
	ErrConflict = errors.New("conflict")
)

// Role is a member's role (docs/API.md "Roles").
type Role string

// The roles of docs/API.md.
const (
	RoleResident  Role = "resident"
	RolePatrol    Role = "patrol"
	RoleCadre     Role = "cadre"
	RoleCommander Role = "commander"
	RoleAdmin     Role = "admin"
)

// LatLng is a WGS84 position in decimal degrees.
type LatLng struct {
	Lat float64
	Lng float64
}

// Position is a member's live position as last reported with locate.
type Position struct {
	Lat       float64
	Lng       float64
	AccuracyM float64
	At        time.Time
}

// Village is a village (or neighbourhood committee) of the county.
type Village struct {
	ID        string
	Name      string
	Township  string
	Center    LatLng
	Demo      bool
	CreatedAt time.Time
	// Code is the administrative division code (6 to 12 digits), unique
	// when set; "" when unknown (v1.5).
	Code string
}

// Member is a registered person: resident, patrol, cadre, commander or admin.
type Member struct {
	ID        string
	Name      string
	Phone     string // E.164; empty means no SMS
	Role      Role
	VillageID string
	Home      *LatLng // nil: no home on record
	Lang      string  // BCP 47; empty means zh-CN
	Demo      bool
	CreatedAt time.Time
	// Live is the last live position (locate); nil when none was sent.
	Live *Position
	// Address is the member's postal address as people say it ("3 组
	// 12 号"); empty when unknown.
	Address string
	// TravelMode is how the member travels to a mobilization: walk, bike,
	// motorbike or drive; empty means the alert's own mode.
	TravelMode string
	// Inactive: deactivated (v1.5): targeted by no alert, sent nothing,
	// its tokens do not sign in. The zero value is an active member.
	Inactive bool
	// Township is the township a cadre or commander governs (v1.6): every
	// village whose Township is this name. "" is no township scope.
	Township string
}

// MemberUpdate changes some fields of a member; nil fields are left as
// they are. ClearHome removes the home position (Home must then be nil).
type MemberUpdate struct {
	Address    *string
	TravelMode *string
	Home       *LatLng
	ClearHome  bool
	// Township sets the township scope (v1.6); "" clears it.
	Township *string
}

// Network is one stored version of the travel network (roads, water,
// bridges) as uploaded. A version with a nil GeoJSON records that the
// network was removed (reach falls back to straight-line circles).
type Network struct {
	// Seq orders the uploads; the store assigns it (1, 2, ...).
	Seq int64
	// Version identifies the content (geo.Network.Version); "" for a removal.
	Version string
	// GeoJSON is the FeatureCollection as uploaded; nil for a removal.
	GeoJSON []byte
	// Stats is what the parser found (geo.NetworkStats as JSON), kept so
	// that listing the history needs no parse; nil for a removal.
	Stats     json.RawMessage
	CreatedBy string
	CreatedAt time.Time
}

// NewMember is a member to create with the SHA-256 hash of its token.
type NewMember struct {
	Member    Member
	TokenHash []byte
	// Token is the metadata of TokenHash's token (its Hash and MemberID
	// are ignored). Nil: kind TokenMember, a new id, created with the
	// member, no expiry. Its ID, when empty, is set.
	Token *Token
}

// Event types. Each event is one seq of the deployment-wide sequence.
const (
	EventAlert       = "alert"
	EventAlertCancel = "alert_cancel"
	EventBulletin    = "bulletin"
	EventReport      = "report"
)

// Event is one entry of the deployment-wide event log that resume replays.
// Who it is addressed to follows from its type (see Audience).
type Event struct {
	Seq  int64
	Type string
	// AlertID is set for alert and alert_cancel: the event is addressed to the
	// alert's recipients (its delivery rows).
	AlertID string
	// VillageID: for bulletin, the village it is addressed to ("" is
	// county-wide); for report, the report's village.
	VillageID string
	// MemberID: for report, the reporter.
	MemberID string
	// Body is the JSON of the event's object as clients receive it (the alert,
	// the bulletin, the report, in the wire type of the service that emits
	// the event; for alert_cancel, null). It is replayed as stored. The hub
	// builds the frame around it with the seq.
	Body      json.RawMessage
	CreatedAt time.Time
	// To and ToVillage address an event by who reads it rather than by
	// its type's rule (v1.6, every event type added since): To lists the
	// members it is addressed to, ToVillage adds every member of
	// VillageID. Both are stored with the event, in its transaction, so
	// resume replays it to exactly these readers. Events of the types
	// above leave both empty and keep their rules.
	To        []string
	ToVillage bool
	// By is the member whose action made the event ("" the system). Not
	// kept in the event log: CancelAlert stores it as the alert's
	// CancelledBy (v1.6).
	By string
}

// Addressed reports whether the event is addressed by To and ToVillage
// rather than by its type's rule.
func (e *Event) Addressed() bool { return len(e.To) > 0 || e.ToVillage }

// FanoutGrace is how long the bookkeeping of an alert to n recipients
// (its delivery rows, delivered marks, the first progress) waits after the
// alert is accepted, so that the CPU goes to writing the alert to the
// recipients' sockets first (issue 11): 150 ms and 25 µs per recipient
// (a fan-out here takes about 27 µs per recipient: 270 ms for 10,000),
// at most 1 s. Nobody waits on it: a reader that needs the rows gets them
// at once.
func FanoutGrace(n int) time.Duration {
	return min(150*time.Millisecond+time.Duration(n)*25*time.Microsecond, time.Second)
}

// ErrNotAddressed is AppendEvent's error for an event without readers.
var ErrNotAddressed = errors.New("the event names no readers (To or ToVillage)")

// AttachReaders sets the To of the events evs (in seq order) from readers,
// pairs of seq and member id in seq order: how a store fills in the readers
// of the addressed events it read.
func AttachReaders(evs []Event, readers iter.Seq2[int64, string]) {
	i := 0
	for seq, id := range readers {
		for i < len(evs) && evs[i].Seq < seq {
			i++
		}
		if i == len(evs) {
			return
		}
		if evs[i].Seq == seq {
			evs[i].To = append(evs[i].To, id)
		}
	}
}

// Audience identifies a reader of the event log: which events are addressed
// to it is decided by the store with these rules (docs/API.md):
//   - alert, alert_cancel: the member has a delivery row for the alert;
//   - bulletin: VillageID is "" (county-wide) or the member's village;
//   - report: the member is the reporter, or a commander or admin, or a cadre
//     of the report's village;
//   - any addressed event (Event.Addressed): the member is in its To, or
//     ToVillage is set and the member belongs to its VillageID.
type Audience struct {
	MemberID  string
	Role      Role
	VillageID string
}

// Alert statuses. An active alert whose ExpiresAt has passed is expired;
// backends store "active" and the reader compares ExpiresAt.
const (
	AlertActive    = "active"
	AlertCancelled = "cancelled"
	AlertExpired   = "expired"
)

// Alert is a warning, a mobilization or an all-clear.
type Alert struct {
	ID       string
	Kind     string
	Severity string
	Title    string
	Body     string
	Area     json.RawMessage
	// Villages lists the village ids of a villages area (nil otherwise): a
	// cadre sees the alerts whose area names its village.
	Villages          []string
	Roles             []Role // nil: every role
	CreatedBy         string
	CreatedAt         time.Time
	ExpiresAt         time.Time
	Status            string
	CancelledAt       *time.Time
	SMSFallbackAfterS *int
	Seq               int64
	CancelSeq         int64
	// VoiceAfterS is the alert's voice_after_s as stored: nil when no
	// call is made (voice.go).
	VoiceAfterS *int
	// v1.6 (storage/capimport.go): an exercise, what a CAP message said
	// (JSON, nil when none), the latest update and who cancelled it.
	AlertExtra
}

// Target is one member an alert is addressed to.
type Target struct {
	MemberID string
	// SMSDueAt, when not zero, queues an SMS (kind MessageAlert) due then; it
	// is cancelled if the member answers first.
	SMSDueAt time.Time
	// SMSPriority is the SMS row's priority (the alert's severity rank,
	// higher first).
	SMSPriority int
	// VoiceDueAt, when not zero, queues a call (channel ChannelVoice,
	// kind MessageAlert, priority SMSPriority) due then (voice.go).
	VoiceDueAt time.Time
}

// AlertFilter selects alerts to list. Zero fields select everything.
type AlertFilter struct {
	// Status: "active" (status active and not expired at Now), "cancelled",
	// "expired", or "" for all.
	Status string
	Now    time.Time
	// Village, when set, keeps alerts whose Villages name it.
	Village string
	// Since and Until, when not zero, keep alerts made (CreatedAt) at or
	// after Since and before Until.
	Since, Until time.Time
	// After continues a listing (newest first by Seq): only alerts with a
	// Seq below it; zero starts with the newest.
	After int64
	Limit int // zero means 100
}

// Responses to an alert (docs/API.md ack).
const (
	RespReceived    = "received"
	RespSafe        = "safe"
	RespNeedHelp    = "need_help"
	RespComing      = "coming"
	RespUnavailable = "unavailable"
)

// Ack is one member's answer to an alert.
type Ack struct {
	AlertID  string
	MemberID string
	Response string
	EtaMin   *int
	Note     string
	At       time.Time
	// By is the member who recorded the answer for MemberID (a patrol or
	// cadre who checked on it, issue 12); "" when the member answered
	// itself.
	By string
}

// Delivery marks that an alert was written to a member's live WebSocket.
type Delivery struct {
	AlertID  string
	MemberID string
	At       time.Time
}

// Progress is an alert's live state (docs/API.md GET /alerts/{id}).
type Progress struct {
	Targeted  int
	Delivered int
	Acked     map[string]int // every response key, zero included
	SMS       SMSCounts
	// OnBehalf counts the members whose latest answer someone else
	// recorded for them (Ack.By).
	OnBehalf int
	// Voice counts the alert's calls (channel voice); the store's
	// AlertProgress leaves it zero, the alert service fills it
	// (ChannelCounts).
	Voice SMSCounts
}

// SMSCounts counts an alert's SMS (channel sms, kind MessageAlert) by state.
// Segments is the number of segments of the messages handed to the provider.
type SMSCounts struct {
	Queued    int `json:"queued"`
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Segments  int `json:"segments"`
}

// Recipient is one row of an alert's recipient list.
type Recipient struct {
	MemberID    string
	Name        string
	Phone       string
	Role        Role
	VillageID   string
	TargetedAt  time.Time
	DeliveredAt *time.Time
	Response    string // "" when none
	RespondedAt *time.Time
	EtaMin      *int
	Note        string
	SMSState    string // "" when no SMS
	VoiceState  string // "" when no call; filled by the alert service (ChannelStates)
	Live        *Position
	Home        *LatLng
	// AnsweredBy is who recorded the latest answer for the member (Ack.By);
	// "" when the member answered itself or has not answered.
	AnsweredBy string
}

// RecipientFilter selects recipients of one alert.
type RecipientFilter struct {
	// Response: a response value, "none" for members who have not answered,
	// or "" for all.
	Response string
	Limit    int // zero means no limit
	// VillageID, when set, keeps the members of that village (a patrol's
	// households, issue 12).
	VillageID string
}

// Report statuses.
const (
	ReportNew        = "new"
	ReportAccepted   = "accepted"
	ReportInProgress = "in_progress"
	ReportResolved   = "resolved"
	ReportRejected   = "rejected"
)

// Report is a hazard report ("snap and report").
type Report struct {
	ID        string
	Kind      string
	Text      string
	Lat       float64
	Lng       float64
	Photos    []string // read back as an empty list, never nil, when there are none
	MemberID  string
	VillageID string
	Status    string
	Feedback  string
	CreatedAt time.Time
	UpdatedAt time.Time
	DueAt     time.Time
	Seq       int64 // seq of its latest event
	// ClientID is the reporter's idempotency key: a report retried after a
	// lost answer carries the same one and is not stored twice.
	ClientID string
	// CreatedSeq is the seq of the event that made the report (set by
	// CreateReport, never changed): unique, and in commit order, so it
	// is the key lists are ordered and paged by.
	CreatedSeq int64
	// UpdatedBy is the member who last changed its status or feedback
	// (UpdateReport stores it; "" before any change or v1.6).
	UpdatedBy string
	// Handling (v1.6, storage/handling.go). ReporterVillageID is the
	// reporter's own village (VillageID is the village where it is).
	ReporterVillageID string
	AssigneeID        string // "" none
	Level             string // LevelVillage ("" reads as village), LevelTownship, LevelCounty
	Overdue           bool
	Reminded          bool      // the SMS reminder step ran
	RemindAt          time.Time // the SMS reminder step (zero: none)
	EscalateAt        time.Time // up to the township (zero: never)
	CountyAt          time.Time // up to the county (zero: never)
	ClosedAt          time.Time // when it reached a final status (zero: open)
	// The board (v1.6, board.go): Visibility is VisibilityPrivate ("" is
	// read as it) or VisibilityPublic, set at creation;
	// RectificationPhotos are the "after" photos staff set (never nil
	// when read); Likes and Urges count the members' reactions.
	Visibility          string
	RectificationPhotos []string
	Likes, Urges        int
}

// ReportFilter selects reports. Zero fields select everything.
type ReportFilter struct {
	Status    string
	VillageID string
	MemberID  string
	ClientID  string // with MemberID: the report sent with this key
	Limit     int    // zero means 100
	// Statuses, when not empty, keeps reports in any of these statuses
	// (as well as Status, when that is set too).
	Statuses []string
	Kind     string
	// Since and Until, when not zero, keep reports made (CreatedAt) at or
	// after Since and before Until.
	Since, Until time.Time
	// Photo keeps the reports that carry this media id among their photos.
	Photo string
	// Oldest lists by CreatedSeq ascending (oldest first); else newest
	// first.
	Oldest bool
	// After continues a listing: only reports whose CreatedSeq comes after
	// it in the listing's order (below it newest first, above it oldest
	// first); zero starts at the beginning.
	After int64
	// VillageIDs, when not nil, keeps the reports of these villages (an
	// empty list selects none). v1.6.
	VillageIDs []string
	Level      string // keeps the reports at this level (v1.6)
	Overdue    *bool  // keeps the overdue (true) or not overdue (v1.6)
	AssigneeID string // keeps the reports assigned to this member (v1.6)
}

// Bulletin is a public notice of a village ("" VillageID: county-wide).
type Bulletin struct {
	ID          string
	VillageID   string
	Category    string
	Title       string
	Body        string
	AuthorID    string
	PublishedAt time.Time
	Seq         int64
}

// BulletinFilter selects bulletins.
type BulletinFilter struct {
	// VillageID: "" lists every bulletin; otherwise that village's.
	VillageID string
	// WithCountyWide also returns county-wide bulletins with a VillageID.
	WithCountyWide bool
	Limit          int // zero means 100
	Category       string
	// Since and Until, when not zero, keep bulletins published at or after
	// Since and before Until.
	Since, Until time.Time
	// After continues a listing (newest first by Seq): only bulletins with
	// a Seq below it; zero starts with the newest.
	After int64
}

// Media is an uploaded image (report photos).
type Media struct {
	ID          string
	ContentType string
	Size        int
	OwnerID     string
	CreatedAt   time.Time
}

// Outbox channels: how a message reaches its member. Each is sent by the
// notify.Channel of that name.
const (
	ChannelSMS = "sms"
)

// Ref types: what an outbox message is about.
const (
	RefAlert = "alert" // Ref.ID is an alert id
)

// Ref is what an outbox message is about: an alert now; an invitation or an
// inbound reply later, each with its own Type.
type Ref struct {
	Type string
	ID   string
}

// AlertRef is the Ref of the messages about an alert.
func AlertRef(alertID string) Ref { return Ref{Type: RefAlert, ID: alertID} }

// Message kinds about an alert: at most one message of each kind per
// (channel, alert, member).
const (
	// MessageAlert is the alert itself. It is cancelled instead of sent
	// when its member answered, or its alert ended, first.
	MessageAlert = "alert"
	// MessageAllClear tells, after a cancel, those who got the alert.
	MessageAllClear = "all_clear"
)

// Message states. A row goes pending -> claimed -> sending -> sent (or
// failed, or back to pending for a retry); a cancel or an answer can stop
// it while it is pending or claimed, never once it is sending.
const (
	MessagePending = "pending" // due at DueAt
	// MessageClaimed: taken by a sender, not handed to the provider yet. A
	// cancel fences it (cancelled) and the sender's StartSending then fails;
	// a claim its sender died with goes back to pending as it is.
	MessageClaimed = "claimed"
	// MessageSending: its send has started (StartSending): the provider may
	// have it, so it cannot be recalled; in doubt until its outcome is
	// recorded or reconciled with the provider.
	MessageSending   = "sending"
	MessageSent      = "sent"      // accepted by the provider (queued/sent there)
	MessageDelivered = "delivered" // the provider reported delivery
	MessageFailed    = "failed"    // permanent failure, never retried
	MessageCancelled = "cancelled" // answered, or the alert was cancelled, first
)

// AllClearWait is how long an all-clear message due while the alert
// message to its member may still reach the member (pending, claimed or
// sending: in flight when the cancel came) waits before ClaimDueMessages
// looks at it again: it follows the alert message, never overtakes it.
const AllClearWait = 5 * time.Second

// MessageKey identifies one outbox message: (channel, ref, member, kind) is
// unique.
type MessageKey struct {
	Channel  string
	Ref      Ref
	MemberID string
	Kind     string
}

// String is the key as one word, for logs and provider-side references:
// channel/ref type/ref id/member/kind.
func (k MessageKey) String() string {
	return k.Channel + "/" + k.Ref.Type + "/" + k.Ref.ID + "/" + k.MemberID + "/" + k.Kind
}

// Message is one row of the outbox, keyed by (Channel, Ref, MemberID, Kind).
type Message struct {
	Channel    string
	Ref        Ref
	MemberID   string
	Kind       string
	State      string
	Priority   int // higher first (an alert's severity rank)
	DueAt      time.Time
	Attempts   int
	ClaimedAt  time.Time // when claimed; once sending, when its send started
	ClaimedBy  string
	SentAt     time.Time
	ProviderID string // the provider's id of the message (Twilio's SID)
	Status     string // the provider's last status word
	ErrorCode  string
	Segments   int
	// Filled by ClaimDueMessages and ClaimedMessages for the sender: the
	// member's phone and language.
	Phone string
	Lang  string
}

// Key is the message's key.
func (m *Message) Key() MessageKey {
	return MessageKey{Channel: m.Channel, Ref: m.Ref, MemberID: m.MemberID, Kind: m.Kind}
}

// MessageResult is the outcome of one send attempt.
type MessageResult struct {
	// State: MessageSent, MessageFailed (permanent), or MessagePending to
	// retry at RetryAt.
	State      string
	RetryAt    time.Time
	ProviderID string
	Status     string
	ErrorCode  string
	Segments   int
	At         time.Time
}

// StatusUpdate is a provider's report on a message it accepted (a status
// callback).
type StatusUpdate struct {
	// State is the state the report means for a sent message (MessageSent,
	// MessageDelivered or MessageFailed), or "" when it changes none; the
	// channel maps its provider's words (notify.TwilioSMSState).
	State     string
	Status    string // the provider's status word, kept as it is
	ErrorCode string
	At        time.Time
}

// Store is the durable store of the hub.
type Store interface {
	// Villages.
	CreateVillage(ctx context.Context, v *Village) error
	GetVillage(ctx context.Context, id string) (Village, error)
	ListVillages(ctx context.Context) ([]Village, error)

	// Members. Phone numbers are unique (ErrConflict) when not empty. An
	// erased member (EraseMember) is not found by any of these.
	CreateMembers(ctx context.Context, ms []NewMember) error
	GetMember(ctx context.Context, id string) (Member, error)
	// GetMembers reads the members with these ids in one query, in the
	// order of ids; ids with no member are left out.
	GetMembers(ctx context.Context, ids []string) ([]Member, error)
	// MemberByToken finds the member holding the token with this hash;
	// ErrNotFound when none does or the token is revoked (its expiry is
	// the caller's to check, with TokenByHash).
	MemberByToken(ctx context.Context, tokenHash []byte) (Member, error)
	// AddToken gives a member another token of kind TokenMember, with no
	// expiry (idempotent; a revoked token stays revoked: ErrConflict).
	AddToken(ctx context.Context, memberID string, tokenHash []byte) error

	// Tokens (storage/tokens.go). TokenByHash returns the token with this
	// hash, in whatever state, and its member; ErrNotFound when none.
	// GetToken reads one token by id (ErrNotFound), GetTokens those of ids
	// in one query (in no particular order; ids with no token are left
	// out). ListTokens lists per the filter. IssueToken stores t (t.ID is
	// set when empty) and, in the same transaction, revokes at t.CreatedAt
	// the other tokens that revoke selects and that are not revoked yet,
	// returning them; when revoke names an ID that is missing or revoked
	// already, it writes nothing and returns ErrConflict (a rotation raced
	// with a revocation). A hash the same
	// member already holds, active, is adopted: that token takes t's Kind
	// and ExpiresAt and t becomes it. A hash held by another member, or
	// revoked, is ErrConflict; an unknown member is ErrNotFound.
	// RevokeTokens revokes at at the tokens sel selects that are not
	// revoked yet (expired ones included) and returns them; a select that
	// names no token (TokenSelect.Empty) is an error. TouchTokens sets last_used_at to
	// at on the tokens of ids whose last use is older.
	TokenByHash(ctx context.Context, tokenHash []byte) (Token, Member, error)
	GetToken(ctx context.Context, id string) (Token, error)
	GetTokens(ctx context.Context, ids []string) ([]Token, error)
	ListTokens(ctx context.Context, f TokenFilter) ([]Token, error)
	IssueToken(ctx context.Context, t *Token, revoke TokenSelect) ([]Token, error)
	RevokeTokens(ctx context.Context, sel TokenSelect, at time.Time) ([]Token, error)
	TouchTokens(ctx context.Context, ids []string, at time.Time) error
	// ListMembers pages through every member ordered by ID, after the given
	// ID ("" starts at the beginning).
	ListMembers(ctx context.Context, after string, limit int) ([]Member, error)
	CountMembers(ctx context.Context, role Role) (int, error) // "" counts all
	SetLivePosition(ctx context.Context, memberID string, p Position) error
	// UpdateMember applies u to the member and returns it as stored;
	// ErrNotFound when there is none.
	UpdateMember(ctx context.Context, id string, u MemberUpdate) (Member, error)

	// Travel network. PutNetwork stores a new version and makes it the
	// current one (n.Seq is set). CurrentNetwork returns the newest version,
	// GeoJSON included (a removal has nil GeoJSON); ErrNotFound when none
	// was ever stored. NetworkHead is CurrentNetwork without the GeoJSON
	// and Stats (the cheap read nodes poll to notice a new version).
	// ListNetworks returns up to limit versions, newest first, without
	// their GeoJSON.
	PutNetwork(ctx context.Context, n *Network) error
	CurrentNetwork(ctx context.Context) (Network, error)
	NetworkHead(ctx context.Context) (Network, error)
	ListNetworks(ctx context.Context, limit int) ([]Network, error)

	// Event log.
	LatestSeq(ctx context.Context) (int64, error)
	// EventsSince returns the events addressed to a with seq > since, in seq
	// order, at most limit of them.
	EventsSince(ctx context.Context, a Audience, since int64, limit int) ([]Event, error)
	// EventsAfter returns every event with seq > since, in seq order, at
	// most limit of them (zero or less: 1000), whoever they are addressed
	// to: a node's catch-up read.
	EventsAfter(ctx context.Context, since int64, limit int) ([]Event, error)
	// AppendEvent appends an addressed event (Event.Addressed; v1.6) that
	// goes with no record of its own (a reminder notice) and sets its Seq.
	// An event that is not addressed is an error and writes nothing.
	AppendEvent(ctx context.Context, ev *Event) error
	// ActiveAlertsFor returns the alert events of the alerts that are active
	// at now and addressed to the member, in seq order.
	ActiveAlertsFor(ctx context.Context, memberID string, now time.Time) ([]Event, error)

	// Alerts. CreateAlert stores the alert, its event (ev.Seq and a.Seq are
	// set), one delivery row per target and the SMS rows the targets ask for,
	// in one transaction.
	CreateAlert(ctx context.Context, a *Alert, ev *Event, targets []Target) error
	// CancelAlert marks an active alert cancelled, appends ev (the
	// alert_cancel event), and, in the same transaction, cancels its
	// alert messages (kind MessageAlert, every channel) whose send has not
	// started (pending or claimed: the claimer's StartSending then fails)
	// and queues an all-clear (kind MessageAllClear, same channel and
	// priority, due at at) to each member whose alert message's send had
	// started (sending, sent or delivered); on the SMS channel only: a
	// call that started gets no all-clear call (its member gets the SMS
	// one, as every voice target had an SMS first). So no alert message starts
	// after the cancel, and every member it may have reached is told.
	// ErrConflict when the alert is not active at at (cancelled or
	// expired).
	CancelAlert(ctx context.Context, id string, at time.Time, ev *Event) (Alert, error)
	GetAlert(ctx context.Context, id string) (Alert, error)
	// ListAlerts returns the alerts f selects, newest (by Seq) first.
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// AddTargets addresses an alert to more members (they moved in); it
	// returns the member ids that were not targeted before. It adds
	// nothing, and returns no id, when the alert is not active at at
	// (cancelled or expired), checked in the same transaction as it
	// writes: a member added by a call that returns is a target of the
	// alert when any CancelAlert that follows it commits (so it is in the
	// cancel's audience), and no call adds one after a cancel.
	AddTargets(ctx context.Context, alertID string, targets []Target, at time.Time) ([]string, error)
	// TargetsAmong returns those of members the alert is addressed to.
	TargetsAmong(ctx context.Context, alertID string, members []string) ([]string, error)
	// IsTargeted tells whether the alert is addressed to the member.
	IsTargeted(ctx context.Context, alertID, memberID string) (bool, error)
	// MarkDelivered sets delivered_at where it is not set yet.
	MarkDelivered(ctx context.Context, ds []Delivery) error
	// RecordAcks stores answers in one transaction: each member's latest
	// answer (by At) wins, the member's pending SMS for that alert is
	// cancelled, and the answers go to the history, which keeps the newest
	// AckHistoryMax per (alert, member). An answer that says the same as
	// the one before it (SameAnswer; the answers of a pair taken by At,
	// the first compared with the stored latest) is not stored again
	// (idempotent): it changes nothing, its ok is true. ok[i] is false when
	// acks[i]'s alert is not addressed to its member (nothing is written
	// for it).
	RecordAcks(ctx context.Context, acks []Ack) (ok []bool, err error)
	// AckHistory lists the answers kept of a member to an alert, oldest
	// first (at most AckHistoryMax).
	AckHistory(ctx context.Context, alertID, memberID string) ([]Ack, error)
	AlertProgress(ctx context.Context, alertID string) (Progress, error)
	ListRecipients(ctx context.Context, alertID string, f RecipientFilter) ([]Recipient, error)

	// Reports. CreateReport returns ErrConflict, writing nothing, when the
	// member already has a report with r.ClientID (when not empty).
	// The events of also (addressed ones: the board's, v1.6) are appended
	// after ev in the same transaction.
	CreateReport(ctx context.Context, r *Report, ev *Event, also ...*Event) error
	// UpdateReport replaces status, feedback and UpdatedAt of r.ID if its
	// status is still fromStatus (else ErrConflict), appends ev (and also,
	// as CreateReport); r.Seq is set.
	UpdateReport(ctx context.Context, r *Report, fromStatus string, ev *Event, also ...*Event) error
	GetReport(ctx context.Context, id string) (Report, error)
	// ListReports returns the reports f selects in CreatedSeq order,
	// newest first unless f.Oldest.
	ListReports(ctx context.Context, f ReportFilter) ([]Report, error)

	// Bulletins.
	CreateBulletin(ctx context.Context, b *Bulletin, ev *Event) error
	// ListBulletins returns the bulletins f selects, newest (by Seq) first.
	ListBulletins(ctx context.Context, f BulletinFilter) ([]Bulletin, error)

	// Media.
	PutMedia(ctx context.Context, m Media, data []byte) error
	GetMedia(ctx context.Context, id string) (Media, []byte, error)
	// MediaInfo is GetMedia without the bytes: what a check of the owner
	// needs, without reading a blob of up to 5 MiB.
	MediaInfo(ctx context.Context, id string) (Media, error)

	// Outbox: one row per message to send (see Message), of any channel.
	// EnqueueMessages inserts rows that do not exist yet (by key); existing
	// rows are left alone. A row about an alert that does not exist, or for
	// a member who does not exist, is ErrNotFound.
	EnqueueMessages(ctx context.Context, rows []Message) error
	// ClaimDueMessages takes up to limit pending rows of the channel due at
	// now, highest priority then earliest due first, and marks them claimed
	// by claimer. Rows of kind MessageAlert about an alert whose member has
	// answered it, or which is no longer active, are cancelled instead of
	// claimed. A row of kind MessageAllClear about an alert follows the
	// alert message of its channel and member: while that may still reach
	// the member (pending, claimed or sending) the all-clear is left
	// pending, due AllClearWait after now; when it never did (cancelled or
	// failed) the all-clear is cancelled; when it was sent, or there is
	// none, the all-clear is claimed. Safe to call from several processes:
	// a row is claimed once.
	ClaimDueMessages(ctx context.Context, channel string, now time.Time, limit int, claimer string) ([]Message, error)
	// StartSending is the sender's last step before it hands a claimed row
	// to the provider: it marks the row sending, re-checking it in the
	// same transaction. A row of kind MessageAlert about an alert that is
	// no longer active at now, or whose member has answered it, is
	// cancelled instead. ErrConflict (nothing to send) when the row is not
	// claimed by claimer any more (a cancel fenced it, another claimer
	// took it over) or was cancelled here; ErrNotFound when there is none.
	StartSending(ctx context.Context, key MessageKey, claimer string, now time.Time) error
	// CompleteMessage records the outcome of sending a claimed or sending
	// row (a claimed one was never handed to the provider).
	CompleteMessage(ctx context.Context, key MessageKey, res MessageResult) error
	// ClaimedMessages lists the channel's rows left claimed or sending by
	// the claimer, or by anyone when claimer is "", claimed (or, sending,
	// started) before the given time: a claimed one was never handed to
	// the provider, a sending one is in doubt.
	ClaimedMessages(ctx context.Context, channel, claimer string, before time.Time) ([]Message, error)
	// UpdateMessageStatus applies a provider status report to the channel's
	// row with this provider id; ErrNotFound when none has it.
	UpdateMessageStatus(ctx context.Context, channel, providerID string, u StatusUpdate) error
	// ListMessages lists the rows about ref, of every channel.
	ListMessages(ctx context.Context, ref Ref) ([]Message, error)

	// Invitations, login codes and answer links (invites.go).
	Invites

	// Personal data and the write probe (privacy.go).
	Privacy
	// The roster: imports, edits, deactivation (roster.go).
	Roster
	// How much of a channel's queue is ahead (queue.go).
	Queue
	Handling
	// The village board: public reports, good deeds, likes (board.go).
	Board

	// Voice calls and SMS replies (voice.go).
	Voice
	// Households (households.go, v1.6).
	Households
	// Settings (settings.go, v1.6).
	Settings

	// The audit trail (audit.go) and alert templates (templates.go).
	Audit
	Templates

	// The villager mailbox (letters.go).
	Letters

	// CAP imports and updates in place, CAP feeds' pending messages (capimport.go).
	AlertUpdates
	CAPFeeds
	// Inspections, boards and credit points (credit.go, v1.6).
	Credit
	// Patrol rounds, visits, emergency periods and tallies (patrol.go, v1.6).
	Patrol

	// Ping checks that the store is reachable.
	Ping(ctx context.Context) error
	Close() error
}
