package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// bearer reads the token from the Authorization header or, for browsers
// that cannot set headers (WebSocket, <img>), from the token query.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if queryTokenAllowed(r) {
		return r.URL.Query().Get("token")
	}
	return ""
}

// queryTokenAllowed: the token may come as ?token= only where a browser
// cannot send a header: the WebSocket upgrade and resources it loads by
// URL (report photos in <img>, map tiles), all GETs. Anywhere else a token
// in the address would end up in logs, history and Referer headers, and a
// link could make a signed-in page act (docs/API.md v1.4).
func queryTokenAllowed(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	p := r.URL.Path
	return p == "/ws" || strings.HasPrefix(p, "/api/v1/media/") || strings.HasPrefix(p, "/tiles/")
}

// Principal is the authenticated caller.
type Principal struct {
	storage.Member
	// Token is the token the caller signed in with (its metadata).
	Token storage.Token
	// Governs lists the villages of the township a township cadre
	// governs (v1.6): where it has the rights a cadre has in its own
	// village. Nil for everyone else.
	Governs []string
}

// governs reports whether villageID is p's own village or one of the
// villages of the township it governs.
func (p *Principal) governs(villageID string) bool {
	return villageID != "" && (villageID == p.VillageID || slices.Contains(p.Governs, villageID))
}

func (p *Principal) actor() service.Actor { return service.ActorOf(&p.Member) }

// Action is something a caller may or may not do (docs/API.md "Roles").
type Action int

// The actions of docs/API.md's role table, one per check the API makes.
const (
	ActReceive          Action = iota // receive alerts and bulletins, ack, report, locate, read villages
	ActCreateVillage                  // create villages
	ActCreateMember                   // create members (not admins)
	ActCreateAdmin                    // create admins
	ActReadMember                     // read another member's record (phone, live position)
	ActListMembers                    // list members by role (map layers)
	ActSendAlert                      // send, preview, cancel an alert
	ActReadAlert                      // see an alert's progress and recipients; list alerts
	ActReadReports                    // read all reports of a village
	ActHandleReport                   // change a report's status and feedback
	ActPublishBulletin                // publish a bulletin
	ActReadBulletins                  // read a village's bulletins
	ActReadMedia                      // read another member's uploads (the photos of a village's reports)
	ActDensity                        // the member density map at any resolution (a cadre: its village's; api/scope.go)
	ActProfile                        // /debug/pprof
	ActUpdateMember                   // change another member's address, travel mode, home
	ActManageNetwork                  // upload or remove the travel network
	ActReadNetwork                    // read the travel network, isochrones
	ActManageTokens                   // list, issue, revoke the tokens of a member who is not an admin
	ActAdminTokens                    // list, issue, revoke an admin's tokens
	ActTokenHolders                   // list every token: who holds one
	ActPersonalData                   // export or erase a member's personal data (v1.4)
	ActAnswerFor                      // answer an alert on a member's behalf (v1.5, api/behalf.go)
	ActReadHouseholds                 // an alert's recipients of a village, without phone or position (v1.5)
	ActInvite                         // send members invitation SMS (v1.5)
	ActSetTownship                    // give a cadre or commander a township scope (v1.6)
	ActManageHouseholds               // create and change households (v1.6)
	ActReadAudit                      // read and export the audit trail (v1.6)
	ActManageTemplates                // create, change, remove alert templates (v1.6)
	ActReadTemplates                  // read alert templates (v1.6)
	ActReadPolicy                     // read the rules in force (v1.6)
	ActManagePolicy                   // replace the rules (v1.6)
	ActWriteLetter                    // write to the villager mailbox (v1.6; reading is the letter's own list)
	ActShareLetter                    // share a letter one reads with another member of the staff (v1.6)
	ActReadFigures                    // read the report figures of villages (v1.6 report handling)
	ActReviewCAP                      // list, approve, discard the CAP feeds' pending messages (v1.6)
	ActReadBoard                      // read a village's board, like and urge its items (v1.6)
	ActRecordDeed                     // record a good deed of a village (v1.6)
	ActConfirmDeed                    // confirm or reject a village's good deeds, set rectification photos (v1.6)
	ActInspect                        // record inspections, publish boards, give credit points (v1.6)
	ActReadBoards                     // read a village's household boards (v1.6)
	ActReadCredit                     // read any household's credit, export credit (v1.6)
	ActPatrol                         // walk rounds from its village, record visits to its village's households (v1.6)
	ActReadPatrol                     // read a village's rounds and overdue visits (v1.6)
	ActReadTallies                    // read a village's tallies (v1.6)
	ActNameEmergency                  // name emergency periods (v1.6)
)

// Reach is how far a role may take an action.
type Reach int

const (
	no       Reach = iota
	own            // the scope's Village is the caller's village
	ownOnly        // the scope's Villages are exactly the caller's village
	ownAmong       // the caller's village is among the scope's Villages
	anywhere       // any scope
)

// Scope is what an action applies to: a village, or an alert's villages.
type Scope struct {
	Village  string
	Villages []string
}

// roleTable is docs/API.md's role table as data: for each action, how far
// each role may take it (a role not listed: no).
var roleTable = map[Action]map[storage.Role]Reach{
	ActReceive: {storage.RoleResident: anywhere, storage.RolePatrol: anywhere, storage.RoleCadre: anywhere,
		storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActCreateVillage:   {storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActCreateMember:    {storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActCreateAdmin:     {storage.RoleAdmin: anywhere},
	ActReadMember:      {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActListMembers:     {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActSendAlert:       {storage.RoleCadre: ownOnly, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActReadAlert:       {storage.RoleCadre: ownAmong, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActReadReports:     {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActHandleReport:    {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActPublishBulletin: {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActReadBulletins: {storage.RoleResident: own, storage.RolePatrol: own, storage.RoleCadre: own,
		storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActReadMedia:     {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActDensity:       {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActProfile:       {storage.RoleAdmin: anywhere},
	ActUpdateMember:  {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActManageNetwork: {storage.RoleAdmin: anywhere},
	ActReadNetwork:   {storage.RoleCadre: anywhere, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	// Tokens (v1.4): every member lists, revokes and rotates its own
	// (api/tokens.go); these are the rights over other members' tokens.
	ActManageTokens: {storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActAdminTokens:  {storage.RoleAdmin: anywhere},
	ActTokenHolders: {storage.RoleAdmin: anywhere},
	ActPersonalData: {storage.RoleAdmin: anywhere},
	// v1.5 (issue 12): a patrol or cadre who checked on a villager of its
	// village answers for it and sees its village's households.
	ActAnswerFor: {storage.RolePatrol: own, storage.RoleCadre: own, storage.RoleCommander: anywhere,
		storage.RoleAdmin: anywhere},
	ActReadHouseholds: {storage.RolePatrol: own, storage.RoleCadre: own, storage.RoleCommander: anywhere,
		storage.RoleAdmin: anywhere},
	ActInvite: {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	// v1.6 (issue 16): the county sets who governs a township.
	ActSetTownship: {storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	// Households: a cadre keeps its village's, command any; patrols and
	// cadres read their village's (ActReadHouseholds).
	ActManageHouseholds: {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	// v1.6 (issue 14): the audit trail and alert templates.
	ActReadAudit:       {storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActManageTemplates: {storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActReadTemplates:   {storage.RoleCadre: anywhere, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	// v1.6 (issue 16): the rules as data; only admins change them.
	ActReadPolicy:   {storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActManagePolicy: {storage.RoleAdmin: anywhere},
	// v1.6 (issue 16): every member of a village writes to the mailbox;
	// the staff share what they read.
	ActWriteLetter: {storage.RoleResident: anywhere, storage.RolePatrol: anywhere, storage.RoleCadre: anywhere,
		storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActShareLetter: {storage.RoleCadre: anywhere, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	// v1.6 (issue 16 part 1): the county's figures; a cadre its village's
	// (a township cadre its township's).
	ActReadFigures: {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	// v1.6 (issue 14): the CAP feeds' pending messages (api/cap_feed.go).
	ActReviewCAP: {storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	// v1.6 (issue 16 part 2): the village board is its members' and
	// its staff's.
	ActReadBoard: {storage.RoleResident: own, storage.RolePatrol: own, storage.RoleCadre: own,
		storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActRecordDeed: {storage.RoleResident: own, storage.RolePatrol: own, storage.RoleCadre: own,
		storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActConfirmDeed: {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	// Boards and credit (v1.6): cadres keep their village's, command any;
	// a village's members read its published boards; a household's own
	// members read its credit (api/credit.go).
	ActInspect: {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActReadBoards: {storage.RoleResident: own, storage.RolePatrol: own, storage.RoleCadre: own,
		storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActReadCredit: {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	// Patrol rounds and visits (api/patrol.go): patrols and cadres walk
	// and visit in their village; cadres read their village's rounds,
	// overdue visits and tallies, command any; the county names
	// emergency periods.
	ActPatrol:        {storage.RolePatrol: own, storage.RoleCadre: own},
	ActReadPatrol:    {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActReadTallies:   {storage.RoleCadre: own, storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
	ActNameEmergency: {storage.RoleCommander: anywhere, storage.RoleAdmin: anywhere},
}

// may is the one authorization check: whether p may take action on scope.
// An empty Scope asks whether p may take it anywhere.
//
// "Own village" is the caller's village and, for a township cadre (v1.6),
// every village of the township it governs (Principal.Governs).
func may(p *Principal, action Action, scope Scope) bool {
	switch roleTable[action][p.Role] {
	case anywhere:
		return true
	case own:
		return p.governs(scope.Village)
	case ownOnly:
		return len(scope.Villages) > 0 && !slices.ContainsFunc(scope.Villages, func(v string) bool { return !p.governs(v) })
	case ownAmong:
		return slices.ContainsFunc(scope.Villages, p.governs)
	}
	return false
}

// village is the scope of one village.
func village(id string) Scope { return Scope{Village: id} }
