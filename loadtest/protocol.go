package main

// The parent and its worker processes talk over the worker's stdin and
// stdout, one JSON object per line: the parent sends requests, the worker
// answers each with a response carrying the same ref, and between answers
// sends unsolicited progress events ({"ev":"progress",...}) twice a second.

// Worker operations.
const (
	opConnect    = "connect"     // replace the client set with Members and dial them all
	opDrop       = "drop"        // close every connection abruptly
	opReconnect  = "reconnect"   // re-dial every disconnected client and resume from its last seq
	opCount      = "count"       // how many clients have received Key
	opCollect    = "collect"     // every receipt of Key: member, first receipt time, times received
	opAck        = "ack"         // every client that received AlertID answers it, all at once
	opReport     = "report"      // send Reports reports, spread over the connected clients
	opStats      = "stats"       // connected count, clients not connected, errors by kind
	opClose      = "close"       // close every connection and forget the clients
	opExpectLoss = "expect_loss" // Target is about to be killed: its losses are not errors; answers its connected clients
	opFailovers  = "failovers"   // failovers so far (with Detail, every record)
	opQuit       = "quit"        // close everything and exit
)

// Receipt keys: the frame kind and the object's id.
const (
	keyAlert    = "alert:"
	keyCancel   = "cancel:"
	keyBulletin = "bulletin:"
)

// memberRef is what a worker knows of one simulated member.
type memberRef struct {
	Idx     int       `json:"i"`           // index in the parent's member list
	Token   string    `json:"t,omitempty"` // its WebSocket token
	Target  int       `json:"g"`           // index into request.URLs
	Village int       `json:"v"`           // index of its village, -1 for none
	Home    [2]float6 `json:"h"`           // lat, lng (where its reports are made)
}

// float6 is a coordinate written with 6 decimals (about 0.1 m), to keep
// the member lists sent to workers short.
type float6 float64

func (f float6) MarshalJSON() ([]byte, error) {
	return []byte(formatFloat(float64(f), 6)), nil
}

// request is one parent -> worker command.
type request struct {
	Ref         int64       `json:"ref"`
	Op          string      `json:"op"`
	URLs        []string    `json:"urls,omitempty"`
	Members     []memberRef `json:"members,omitempty"`
	Concurrency int         `json:"concurrency,omitempty"` // dials in flight at once
	Rate        float64     `json:"rate,omitempty"`        // dials per second for this worker; 0: as fast as possible
	Key         string      `json:"key,omitempty"`
	AlertID     string      `json:"alert_id,omitempty"`
	Response    string      `json:"response,omitempty"`
	Reports     int         `json:"reports,omitempty"`
	TimeoutMs   int64       `json:"timeout_ms,omitempty"` // bound on the whole operation
	// Deadline (connect) is the run's end, unix ns: failovers give up there.
	Deadline int64 `json:"deadline,omitempty"`
	Target   int   `json:"target,omitempty"` // expect_loss: index into the connect request's URLs
	Detail   bool  `json:"detail,omitempty"` // failovers: every record, not only counts
	// Proto (connect): the clients' protocol: "" for the hub's, or
	// protoCentrifugo for the peer scenario's Centrifugo.
	Proto string `json:"proto,omitempty"`
}

// response is one worker -> parent answer or progress event.
type response struct {
	Ref int64  `json:"ref,omitempty"`
	Ev  string `json:"ev,omitempty"`  // "progress" for unsolicited events
	Err string `json:"err,omitempty"` // the operation could not run at all

	Connected int              `json:"connected"`
	Done      int64            `json:"done"` // progress of the running operation
	Errors    map[string]int64 `json:"errors,omitempty"`

	// connect, reconnect, ack, report
	Attempted int     `json:"attempted,omitempty"`
	OK        int     `json:"ok,omitempty"`
	Start     int64   `json:"start,omitempty"` // unix ns of the first attempt
	End       int64   `json:"end,omitempty"`   // unix ns of the last success
	Lat       []int64 `json:"lat,omitempty"`   // per-success latency, ns
	// Codes counts failed replies and dials by kind, for this operation.
	Codes map[string]int `json:"codes,omitempty"`

	// count, collect
	Count int     `json:"count,omitempty"`
	Idx   []int   `json:"idx,omitempty"`
	Recv  []int64 `json:"recv,omitempty"`  // unix ns of the first receipt
	Times []int   `json:"times,omitempty"` // receipts per member (1 is right)
	Bytes int     `json:"bytes,omitempty"` // size of the frame received

	// stats
	NotConnected []int `json:"not_connected,omitempty"`
	Repushed     int64 `json:"repushed,omitempty"`   // active alerts pushed again on a new connection (docs/API.md allows it)
	OldEvents    int64 `json:"old_events,omitempty"` // other events at or below the resume cursor: must be 0
	Frames       int64 `json:"frames,omitempty"`

	// failovers (client.failover)
	Failovers    []failoverRec    `json:"failovers,omitempty"`
	Failing      int              `json:"failing,omitempty"`       // in progress
	FromDying    int              `json:"from_dying,omitempty"`    // done, from a target marked by expect_loss
	GaveUp       int64            `json:"gave_up,omitempty"`       // reached the deadline
	ExpectedLoss int64            `json:"expected_loss,omitempty"` // losses on a target marked by expect_loss
	FoFails      map[string]int64 `json:"failover_dial_failures,omitempty"`
}
