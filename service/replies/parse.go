package replies

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/longyou/hub/storage"
)

// Reply is what a member's SMS reply means.
type Reply struct {
	Response string // a storage.Resp* value
	EtaMin   *int   // minutes to arrive, for coming
}

// MaxEtaMin bounds the minutes a coming reply may give (the ack's eta_min).
const MaxEtaMin = 1440

// The words of docs/API.md v1.5 "SMS replies", after Normalize.
var (
	warningWords = map[string]string{
		"1": storage.RespReceived, "收到": storage.RespReceived, "received": storage.RespReceived,
		"2": storage.RespSafe, "安全": storage.RespSafe, "safe": storage.RespSafe,
		"3": storage.RespNeedHelp, "求助": storage.RespNeedHelp, "救命": storage.RespNeedHelp, "help": storage.RespNeedHelp,
	}
	// mobilizationWords: 1 and 2 are coming and unavailable; the words
	// for help and received keep their meaning.
	mobilizationWords = map[string]string{
		"2": storage.RespUnavailable, "不能": storage.RespUnavailable, "无法": storage.RespUnavailable,
		"unavailable": storage.RespUnavailable,
		"求助":          storage.RespNeedHelp, "救命": storage.RespNeedHelp, "help": storage.RespNeedHelp,
		"收到": storage.RespReceived, "received": storage.RespReceived,
	}
	comingWords = []string{"前往", "coming", "来", "到", "1"}
	minuteUnits = []string{"minutes", "minute", "mins", "min", "分钟", "分"}
)

// carrierKeywords are Twilio's opt-out and opt-in keywords: Twilio answers
// them itself (and refuses to send to a number that opted out), so the hub
// neither reads them nor sends its help SMS.
var carrierKeywords = map[string]bool{"stop": true, "stopall": true, "unsubscribe": true, "cancel": true,
	"end": true, "quit": true, "start": true, "unstop": true, "yes": true, "info": true}

// IsCarrierKeyword tells whether a reply is one of Twilio's opt-out or
// opt-in keywords.
func IsCarrierKeyword(body string) bool { return carrierKeywords[Normalize(body)] }

// Normalize is a reply as Parse reads it: full-width letters, digits and
// punctuation made half-width (the ideographic space a space), lower case,
// punctuation and symbols made spaces, runs of spaces made one, trimmed.
func Normalize(s string) string {
	var b strings.Builder
	space := true // drop leading spaces
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		r = unicode.ToLower(r)
		if unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r) {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteRune(r)
		space = false
	}
	return strings.TrimRight(b.String(), " ")
}

// Parse reads a reply to an alert (mobilization: the alert is one). ok is
// false when it cannot be read (the member gets the help SMS).
func Parse(body string, mobilization bool) (Reply, bool) {
	s := Normalize(body)
	if s == "" || len(s) > 64 {
		return Reply{}, false
	}
	if !mobilization {
		if r, ok := warningWords[s]; ok {
			return Reply{Response: r}, true
		}
		return Reply{}, false
	}
	if r, ok := mobilizationWords[s]; ok {
		return Reply{Response: r}, true
	}
	return parseComing(s)
}

// parseComing reads "<coming word> [minutes [unit]]" or "minutes unit":
// 1, 来 12, 1 12, 来12分钟, 12分钟, coming 12 min. After the digit 1 the
// minutes need a space ("112" is not read).
func parseComing(s string) (Reply, bool) {
	rest, word := s, false
	for _, w := range comingWords {
		if after, ok := strings.CutPrefix(s, w); ok {
			if w == "1" && after != "" && after[0] != ' ' {
				continue
			}
			rest, word = strings.TrimLeft(after, " "), true
			break
		}
	}
	if rest == "" {
		if word {
			return Reply{Response: storage.RespComing}, true
		}
		return Reply{}, false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i > 4 {
		return Reply{}, false
	}
	n, _ := strconv.Atoi(rest[:i])
	unit := strings.TrimLeft(rest[i:], " ")
	hasUnit := false
	for _, u := range minuteUnits {
		if unit == u {
			hasUnit = true
			break
		}
	}
	if (unit != "" && !hasUnit) || (!word && !hasUnit) || n > MaxEtaMin {
		return Reply{}, false
	}
	return Reply{Response: storage.RespComing, EtaMin: &n}, true
}
