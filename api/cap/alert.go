package cap

import "time"

// Namespaces of the CAP versions Parse reads. MarshalCAP always writes
// Namespace12.
const (
	Namespace12 = "urn:oasis:names:tc:emergency:cap:1.2"
	Namespace11 = "urn:oasis:names:tc:emergency:cap:1.1"
)

// Alert is a CAP <alert> message. Every element of the CAP 1.2 standard has
// a field; optional text elements that are absent are "", absent times are
// the zero time.Time, absent lists are nil.
//
// Text is stored with leading and trailing white space removed: feeds indent
// their elements, and no CAP value means anything by it.
type Alert struct {
	Identifier  string      // <identifier>: unique per Sender; no spaces or commas
	Sender      string      // <sender>: no spaces or commas
	Sent        time.Time   // <sent>, with the offset the sender wrote
	Status      Status      // <status>
	MsgType     MsgType     // <msgType>
	Source      string      // <source>
	Scope       Scope       // <scope>
	Restriction string      // <restriction>: for Scope Restricted
	Addresses   string      // <addresses>: space separated, "quoted" when they hold spaces; kept as written
	Codes       []string    // <code>, repeatable
	Note        string      // <note>
	References  []Reference // <references>, parsed into its triples
	Incidents   string      // <incidents>: kept as written
	Infos       []Info      // <info>, repeatable (one per language, usually)
}

// Reference is one "sender,identifier,sent" triple of <references>: the
// earlier message that an Update, Cancel, Ack or Error refers to.
type Reference struct {
	Sender     string
	Identifier string
	Sent       time.Time
}

// Info is an <info> block: the event in one language.
type Info struct {
	// Language is <language> as written ("" when absent, which CAP reads as
	// "en-US"; see Info.Lang). An underscore ("zh_CN") is read as a hyphen.
	Language      string
	Categories    []Category     // <category>, at least one
	Event         string         // <event>
	ResponseTypes []ResponseType // <responseType>, repeatable
	Urgency       Urgency        // <urgency>
	Severity      Severity       // <severity>
	Certainty     Certainty      // <certainty>
	Audience      string         // <audience>
	EventCodes    []ValuePair    // <eventCode>, repeatable
	Effective     time.Time      // <effective>
	Onset         time.Time      // <onset>
	Expires       time.Time      // <expires>
	SenderName    string         // <senderName>
	Headline      string         // <headline>
	Description   string         // <description>
	Instruction   string         // <instruction>
	Web           string         // <web>: see Resource.URI
	Contact       string         // <contact>
	Parameters    []ValuePair    // <parameter>, repeatable
	Resources     []Resource     // <resource>, repeatable
	Areas         []Area         // <area>, repeatable
}

// Lang is the info's language with CAP's default applied: "en-US" when
// <language> is absent.
func (in *Info) Lang() string {
	if in.Language == "" {
		return "en-US"
	}
	return in.Language
}

// ValuePair is the <valueName>/<value> pair of <eventCode>, <parameter> and
// <geocode>.
type ValuePair struct {
	ValueName string
	Value     string
}

// Resource is a <resource>: a file that goes with the info.
type Resource struct {
	ResourceDesc string // <resourceDesc>
	// MimeType is <mimeType>. CAP 1.1 made it optional; Parse reads a
	// missing one as "application/octet-stream" so that every decoded
	// resource can be written as CAP 1.2, which requires it.
	MimeType string
	Size     int64 // <size> in bytes; 0 when absent
	// URI is <uri>. Parse (and MarshalCAP) escape what keeps a malformed
	// link from being an xs:anyURI ("%zz", a second "#", spaces, "::"), so
	// that a re-exported alert stays valid; a well-formed URI is unchanged.
	URI      string
	DerefURI string // <derefUri>: the content, base64
	Digest   string // <digest>: SHA-1 of the content, hex
}

// Area is an <area>: where the info applies. A point is inside the area when
// it is inside any of its polygons or circles (CAP 1.2 section 3.2.4); the
// geocodes name the same place by code.
type Area struct {
	AreaDesc string      // <areaDesc>
	Polygons []Polygon   // <polygon>, repeatable
	Circles  []Circle    // <circle>, repeatable
	Geocodes []ValuePair // <geocode>, repeatable
	Altitude *float64    // <altitude> in feet above mean sea level; nil when absent
	Ceiling  *float64    // <ceiling> in feet; nil when absent
}

// Polygon is a <polygon>: a closed ring of [lat, lon] points (WGS 84
// degrees), at least 4 points with the first equal to the last.
type Polygon [][2]float64

// Circle is a <circle>: a centre (WGS 84 degrees) and a radius in
// kilometres. A radius of 0 is a point (the standard's own earthquake
// example uses one).
type Circle struct {
	Lat, Lon float64
	RadiusKm float64
}

// Status is <status>, the handling code of the message.
type Status string

// The values of <status>.
const (
	StatusActual   Status = "Actual"
	StatusExercise Status = "Exercise"
	StatusSystem   Status = "System"
	StatusTest     Status = "Test"
	StatusDraft    Status = "Draft"
)

// MsgType is <msgType>, the nature of the message.
type MsgType string

// The values of <msgType>.
const (
	MsgAlert  MsgType = "Alert"
	MsgUpdate MsgType = "Update"
	MsgCancel MsgType = "Cancel"
	MsgAck    MsgType = "Ack"
	MsgError  MsgType = "Error"
)

// Scope is <scope>, who may see the message.
type Scope string

// The values of <scope>.
const (
	ScopePublic     Scope = "Public"
	ScopeRestricted Scope = "Restricted"
	ScopePrivate    Scope = "Private"
)

// Category is <category>, the kind of event.
type Category string

// The values of <category>.
const (
	CategoryGeo       Category = "Geo"
	CategoryMet       Category = "Met"
	CategorySafety    Category = "Safety"
	CategorySecurity  Category = "Security"
	CategoryRescue    Category = "Rescue"
	CategoryFire      Category = "Fire"
	CategoryHealth    Category = "Health"
	CategoryEnv       Category = "Env"
	CategoryTransport Category = "Transport"
	CategoryInfra     Category = "Infra"
	CategoryCBRNE     Category = "CBRNE"
	CategoryOther     Category = "Other"
)

// ResponseType is <responseType>, the action recommended to the audience.
type ResponseType string

// The values of <responseType> (1.1's are a subset of 1.2's).
const (
	ResponseShelter  ResponseType = "Shelter"
	ResponseEvacuate ResponseType = "Evacuate"
	ResponsePrepare  ResponseType = "Prepare"
	ResponseExecute  ResponseType = "Execute"
	ResponseAvoid    ResponseType = "Avoid"
	ResponseMonitor  ResponseType = "Monitor"
	ResponseAssess   ResponseType = "Assess"
	ResponseAllClear ResponseType = "AllClear"
	ResponseNone     ResponseType = "None"
)

// Urgency is <urgency>.
type Urgency string

// The values of <urgency>.
const (
	UrgencyImmediate Urgency = "Immediate"
	UrgencyExpected  Urgency = "Expected"
	UrgencyFuture    Urgency = "Future"
	UrgencyPast      Urgency = "Past"
	UrgencyUnknown   Urgency = "Unknown"
)

// Severity is <severity>.
type Severity string

// The values of <severity>.
const (
	SeverityExtreme  Severity = "Extreme"
	SeveritySevere   Severity = "Severe"
	SeverityModerate Severity = "Moderate"
	SeverityMinor    Severity = "Minor"
	SeverityUnknown  Severity = "Unknown"
)

// Certainty is <certainty>.
type Certainty string

// The values of <certainty>. CertaintyVeryLikely is CAP 1.1's (kept there
// from 1.0); 1.2 dropped it, so Parse reads it as CertaintyLikely (p > ~50%
// covers 1.1's p > ~85%), and MarshalCAP writes it as Likely.
const (
	CertaintyObserved   Certainty = "Observed"
	CertaintyLikely     Certainty = "Likely"
	CertaintyPossible   Certainty = "Possible"
	CertaintyUnlikely   Certainty = "Unlikely"
	CertaintyUnknown    Certainty = "Unknown"
	CertaintyVeryLikely Certainty = "Very Likely"
)

func (s Status) valid() bool {
	switch s {
	case StatusActual, StatusExercise, StatusSystem, StatusTest, StatusDraft:
		return true
	}
	return false
}

func (m MsgType) valid() bool {
	switch m {
	case MsgAlert, MsgUpdate, MsgCancel, MsgAck, MsgError:
		return true
	}
	return false
}

func (s Scope) valid() bool {
	switch s {
	case ScopePublic, ScopeRestricted, ScopePrivate:
		return true
	}
	return false
}

func (c Category) valid() bool {
	switch c {
	case CategoryGeo, CategoryMet, CategorySafety, CategorySecurity, CategoryRescue, CategoryFire,
		CategoryHealth, CategoryEnv, CategoryTransport, CategoryInfra, CategoryCBRNE, CategoryOther:
		return true
	}
	return false
}

func (r ResponseType) valid() bool {
	switch r {
	case ResponseShelter, ResponseEvacuate, ResponsePrepare, ResponseExecute, ResponseAvoid,
		ResponseMonitor, ResponseAssess, ResponseAllClear, ResponseNone:
		return true
	}
	return false
}

func (u Urgency) valid() bool {
	switch u {
	case UrgencyImmediate, UrgencyExpected, UrgencyFuture, UrgencyPast, UrgencyUnknown:
		return true
	}
	return false
}

func (s Severity) valid() bool {
	switch s {
	case SeverityExtreme, SeveritySevere, SeverityModerate, SeverityMinor, SeverityUnknown:
		return true
	}
	return false
}

func (c Certainty) valid() bool {
	switch c {
	case CertaintyObserved, CertaintyLikely, CertaintyPossible, CertaintyUnlikely, CertaintyUnknown,
		CertaintyVeryLikely:
		return true
	}
	return false
}
