package main

import (
	"time"
)

// results is the JSON file (-out) and the source of the human summary.
type results struct {
	Tool       string    `json:"tool"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Seconds    float64   `json:"seconds"`
	Targets    []string  `json:"targets,omitempty"`
	Scenarios  []string  `json:"scenarios"`
	N          int       `json:"n"`
	K          int       `json:"k,omitempty"`
	Workers    int       `json:"workers"`
	InProcess  bool      `json:"in_process,omitempty"`
	Machine    machine   `json:"machine"`

	Members *membersInfo `json:"members,omitempty"`
	// Notes are plain statements about the run: limits that capped it,
	// reused data, anything that qualifies the numbers.
	Notes     []string      `json:"notes,omitempty"`
	HubBefore []hubSample   `json:"hub_before,omitempty"`
	HubAfter  []hubSample   `json:"hub_after,omitempty"`
	Connect   *connectRes   `json:"connect,omitempty"`
	Alert     *alertRes     `json:"alert,omitempty"`
	Ack       *ackRes       `json:"ack,omitempty"`
	Report    *reportRes    `json:"report,omitempty"`
	Bulletin  *bulletinRes  `json:"bulletin,omitempty"`
	Reconnect *reconnectRes `json:"reconnect,omitempty"`
	Failover  *failoverRes  `json:"failover,omitempty"`
	Baseline  *baselineRes  `json:"baseline,omitempty"`
	Peer      *peerRes      `json:"peer,omitempty"`
	// ClientFailovers: every connection lost without the run asking, and
	// redialed by its client (any scenario).
	ClientFailovers *clientFailoverRes `json:"client_failovers,omitempty"`
	// Ratios are hub figures over the machine's floor (baseline): 1.0 is
	// as fast as the simplest server on the same clients.
	Ratios map[string]float64 `json:"ratios,omitempty"`

	Errors      map[string]int64 `json:"errors"`
	ErrorsTotal int64            `json:"errors_total"`
	Problems    []string         `json:"problems,omitempty"`
	Aborted     string           `json:"aborted,omitempty"`
	OK          bool             `json:"ok"`
}

type machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	OpenFiles uint64 `json:"open_files_limit"`
}

type membersInfo struct {
	Total         int     `json:"total"`
	Residents     int     `json:"residents"`
	Patrols       int     `json:"patrols"`
	Villages      int     `json:"villages"`
	Created       int     `json:"created"`
	CreateSeconds float64 `json:"create_seconds,omitempty"`
	CreateRate    float64 `json:"create_per_s,omitempty"`
	File          string  `json:"file,omitempty"`
}

// delivery is how one event reached the clients it was for.
type delivery struct {
	Key      string `json:"key"`
	Expected int    `json:"expected"` // our connected members it is addressed to
	Received int    `json:"received"` // of those, how many got it
	Missing  int    `json:"missing"`
	// Duplicates counts members that got it more than once; Unexpected,
	// members that got it but are not addressed.
	Duplicates int `json:"duplicates"`
	Unexpected int `json:"unexpected"`
	// MissingOffline: of the missing, those whose connection was lost.
	MissingOffline int     `json:"missing_offline,omitempty"`
	Complete       bool    `json:"complete"`
	Latency        latency `json:"latency_ms"`
	// LastMs is when the last addressed member had it, from the moment the
	// hub accepted the event.
	LastMs     float64 `json:"last_ms"`
	FrameBytes int     `json:"frame_bytes,omitempty"`
	WaitedMs   float64 `json:"waited_ms"`

	lat []int64
}

type memoryRes struct {
	Source            string  `json:"source"` // metrics or /proc
	ConnsBefore       float64 `json:"hub_connections_before"`
	ConnsAfter        float64 `json:"hub_connections_after"`
	RSSBefore         float64 `json:"rss_bytes_before"`
	RSSAfter          float64 `json:"rss_bytes_after"`
	RSSPerConn        float64 `json:"rss_bytes_per_conn"`
	HeapPerConn       float64 `json:"heap_bytes_per_conn"`
	GoroutinesPerConn float64 `json:"goroutines_per_conn"`
}

type connectRes struct {
	Requested int              `json:"requested"`
	Connected int              `json:"connected"`
	Failed    int              `json:"failed"`
	Seconds   float64          `json:"seconds"`
	RatePerS  float64          `json:"connections_per_s"`
	Dial      latency          `json:"dial_ms"` // dial + auth + welcome
	Failures  map[string]int   `json:"failures,omitempty"`
	Memory    *memoryRes       `json:"memory,omitempty"`
	Hub       hubDelta         `json:"hub"`
	Errors    map[string]int64 `json:"errors,omitempty"`
}

type alertSend struct {
	AlertID    string `json:"alert_id"`
	Targeted   int    `json:"targeted"`  // the hub's 201 answer
	Connected  int    `json:"connected"` // the hub's 201 answer
	Recipients int    `json:"recipients"`
	NotOurs    int    `json:"recipients_not_ours,omitempty"`
	Offline    int    `json:"recipients_offline,omitempty"` // ours, addressed, not connected when it was sent
	// PostMs is the POST's round trip; AcceptedMs is from sending the POST
	// to the alert's created_at (same clock).
	PostMs float64 `json:"post_ms"`
	// The commander's wait, from just before the POST: CreatedMs until the
	// alert's created_at (request, auth, decode: before the accept's
	// clock starts), FromPostP50Ms and FromPostLastMs until the median and
	// the last addressed member had it. Delivery's figures count from
	// created_at.
	CreatedMs      float64  `json:"created_after_post_ms"`
	FromPostP50Ms  float64  `json:"from_post_p50_ms"`
	FromPostLastMs float64  `json:"from_post_last_ms"`
	Delivery       delivery `json:"delivery"`
	CancelComplete bool     `json:"cancel_complete"`
	CancelMissing  int      `json:"cancel_missing,omitempty"`

	expected, offline map[int]bool
}

type alertRes struct {
	K                int         `json:"k"`
	Village          string      `json:"village"`
	Center           latLng      `json:"center"`
	RadiusM          float64     `json:"radius_m"`
	PreviewTargeted  int         `json:"preview_targeted"`
	PreviewConnected int         `json:"preview_connected"`
	Sends            []alertSend `json:"sends"`
	Latency          latency     `json:"latency_ms"` // over every receipt of every send
	LastMs           latency     `json:"last_ms"`    // the sends' last-recipient times
	// FromPostLastMs: the sends' last-recipient times from just before
	// the POST (what the commander waits).
	FromPostLastMs latency          `json:"from_post_last_ms"`
	Complete       bool             `json:"complete"`
	Hub            hubDelta         `json:"hub"`
	Errors         map[string]int64 `json:"errors,omitempty"`
}

type ackRes struct {
	Alert        alertSend        `json:"alert"`
	Answers      int              `json:"answers"`
	OK           int              `json:"ok"`
	Failed       map[string]int   `json:"failed,omitempty"`
	Seconds      float64          `json:"seconds"`
	RatePerS     float64          `json:"answers_stored_per_s"`
	Reply        latency          `json:"reply_ms"`
	HubReceived  int              `json:"hub_progress_received"` // GET /alerts/{id}: acked.received
	HubAcksDelta float64          `json:"hub_acks_stored_delta"` // hub_acks_stored_total
	Hub          hubDelta         `json:"hub"`
	Errors       map[string]int64 `json:"errors,omitempty"`
}

type reportRes struct {
	Requested    int              `json:"requested"`
	Sent         int              `json:"sent"`
	OK           int              `json:"ok"`
	Failed       map[string]int   `json:"failed,omitempty"`
	PerMemberMax int              `json:"per_member_max"`
	Seconds      float64          `json:"seconds"`
	RatePerS     float64          `json:"reports_stored_per_s"`
	Reply        latency          `json:"reply_ms"`
	Hub          hubDelta         `json:"hub"`
	Errors       map[string]int64 `json:"errors,omitempty"`
}

type bulletinRes struct {
	BulletinID string           `json:"bulletin_id"`
	Village    string           `json:"village"`
	PostMs     float64          `json:"post_ms"`
	Delivery   delivery         `json:"delivery"`
	Hub        hubDelta         `json:"hub"`
	Errors     map[string]int64 `json:"errors,omitempty"`
}

type reconnectRes struct {
	Dropped  int            `json:"dropped"`
	Resumed  int            `json:"resumed"`
	Failed   map[string]int `json:"failed,omitempty"`
	Seconds  float64        `json:"seconds"` // from the first re-dial to the last resume reply
	RatePerS float64        `json:"resumed_per_s"`
	Resume   latency        `json:"resume_ms"` // dial + welcome + resume reply, per member
	// The events sent while everyone was away: each must arrive exactly
	// once after the resume.
	GapAlert     delivery `json:"gap_alert"`
	GapBulletin  delivery `json:"gap_bulletin"`
	Duplicates   int64    `json:"duplicate_seqs"`
	OldEvents    int64    `json:"old_events"`
	Repushed     int64    `json:"active_alerts_repushed"`
	NothingLost  bool     `json:"nothing_missed_or_duplicated"`
	CancelMissed int      `json:"gap_cancel_missing,omitempty"`
	Hub          hubDelta `json:"hub"`

	Errors map[string]int64 `json:"errors,omitempty"`
}

// failoverRes is the failover scenario: the first target's process killed
// with SIGKILL, its clients resuming on the other nodes.
type failoverRes struct {
	KilledTarget string    `json:"killed_target"`
	KilledPID    int       `json:"killed_pid"`
	KilledAt     time.Time `json:"killed_at"`
	// OnKilled: our clients connected to it at the kill; OfflineBefore:
	// our clients not connected at all just before it.
	OnKilled      int `json:"clients_on_killed_node"`
	OfflineBefore int `json:"offline_before_kill"`
	// Resumed: of OnKilled, those whose resume was answered by another
	// node; ResumedOn by which.
	Resumed         int            `json:"resumed"`
	NotResumed      int            `json:"not_resumed"`
	ResumedOnKilled int            `json:"resumed_on_killed_node,omitempty"`
	ResumedOn       map[string]int `json:"resumed_on"`
	// SinceKill: per client, from the SIGKILL to the resume reply on the
	// new node; AllWithinMs is its max. SinceLoss: from the moment the
	// client saw its connection end.
	SinceKill   latency `json:"resumed_since_kill_ms"`
	SinceLoss   latency `json:"resumed_since_loss_ms"`
	AllWithinMs float64 `json:"all_resumed_within_ms"`
	WaitedMs    float64 `json:"waited_ms"`
	// Retried: clients that needed more than one dial; DialFailures: the
	// failed dials by kind (expected while a node is dead, not errors).
	Retried        int              `json:"retried"`
	AttemptsMax    int              `json:"attempts_max"`
	DialFailures   map[string]int64 `json:"dial_failures,omitempty"`
	ExpectedLosses int64            `json:"expected_losses"`
	GaveUp         int64            `json:"gave_up,omitempty"`
	// OtherFailovers: connections lost after the kill that were not the
	// killed node's (a surviving node dropped clients): must be 0.
	OtherFailovers int `json:"other_failovers"`
	// Before and After: the alert to everyone (and its cancel) before the
	// kill and after every client resumed.
	Before alertSend `json:"alert_before"`
	After  alertSend `json:"alert_after"`
	// The events before the kill recounted after the failover: still
	// exactly once for every addressed member.
	BeforeAlertAgain  delivery `json:"alert_before_recount"`
	BeforeCancelAgain delivery `json:"cancel_before_recount"`
	Duplicates        int64    `json:"duplicate_seqs"`
	OldEvents         int64    `json:"old_events"`
	NothingLost       bool     `json:"nothing_missed_or_duplicated"`
	Hub               hubDelta `json:"hub"`

	Errors map[string]int64 `json:"errors,omitempty"`
}

// clientFailoverRes sums the client failovers of a whole run.
type clientFailoverRes struct {
	Reconnections  int              `json:"reconnections"`
	Resume         latency          `json:"loss_to_resumed_ms"`
	AttemptsMax    int              `json:"attempts_max"`
	InProgress     int              `json:"in_progress,omitempty"`
	GaveUp         int64            `json:"gave_up,omitempty"`
	ExpectedLosses int64            `json:"expected_losses,omitempty"`
	DialFailures   map[string]int64 `json:"dial_failures,omitempty"`
}

type baselineRes struct {
	Connections int              `json:"connections"`
	Writers     int              `json:"writers"` // the server's write loops
	ConnectRate float64          `json:"connections_per_s"`
	Sends       []delivery       `json:"sends"`
	WriteLoopMs []float64        `json:"write_loop_ms"` // the server's loop over every connection
	Latency     latency          `json:"latency_ms"`
	LastMs      latency          `json:"last_ms"`
	FrameBytes  int              `json:"frame_bytes"`
	Complete    bool             `json:"complete"`
	Errors      map[string]int64 `json:"errors,omitempty"`
}
