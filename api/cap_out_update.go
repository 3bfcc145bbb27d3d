package api

import (
	"encoding/json"
	"strconv"

	"github.com/longyou/hub/api/cap"
	"github.com/longyou/hub/storage"
)

// CAP export of what v1.6 added (docs/API.md v1.6): an imported alert's
// info blocks, in every language it came with, and an updated alert's
// Update message.

// capInfosOf is the info blocks of an alert's CAP message: base (the
// hub's own, from the alert's fields) alone, or, for an alert imported
// from CAP, one per info it came with, each with base's area and expiry
// and its own language, texts and codes; the hub's current title, body
// and severity go in the info the hub took them from (its first Chinese
// one, or the first).
func capInfosOf(al *storage.Alert, base *cap.Info) []cap.Info {
	var meta capMeta
	if len(al.Meta) == 0 || json.Unmarshal(al.Meta, &meta) != nil || len(meta.Infos) == 0 {
		return []cap.Info{*base}
	}
	main := 0
	for i, in := range meta.Infos {
		if primaryLang(in.Language) == "zh" {
			main = i
			break
		}
	}
	out := make([]cap.Info, len(meta.Infos))
	for i, in := range meta.Infos {
		info := *base
		info.Areas = append([]cap.Area(nil), base.Areas...)
		info.Language = in.Language
		info.Event = in.Event
		info.Categories = nil
		for _, c := range in.Category {
			info.Categories = append(info.Categories, cap.Category(c))
		}
		if len(info.Categories) == 0 {
			info.Categories = []cap.Category{cap.CategorySafety}
		}
		info.Urgency, info.Certainty = cap.Urgency(in.Urgency), cap.Certainty(in.Certainty)
		info.ResponseTypes = nil
		for _, rt := range in.ResponseType {
			info.ResponseTypes = append(info.ResponseTypes, cap.ResponseType(rt))
		}
		if in.SenderName != "" {
			info.SenderName = in.SenderName
		}
		info.Web = in.Web
		info.Headline, info.Description, info.Instruction = in.Headline, in.Description, in.Instruction
		info.Severity = cap.Severity(in.Severity)
		if i == main {
			// The alert's own text is the truth: an update in place may have
			// changed it since the import.
			if al.Title != in.Title || al.Body != in.Body {
				info.Headline, info.Description, info.Instruction = al.Title, al.Body, ""
			}
			if cap.HubSeverity(info.Severity) != al.Severity {
				info.Severity = cap.CAPSeverity(al.Severity)
			}
		}
		if len(info.Areas) == 1 && in.AreaDesc != "" {
			info.Areas[0].AreaDesc = in.AreaDesc
		}
		out[i] = info
	}
	return out
}

func primaryLang(tag string) string {
	for i := 0; i < len(tag); i++ {
		if tag[i] == '-' || tag[i] == '_' {
			return tag[:i]
		}
	}
	return tag
}

// capAsUpdate turns an alert's message into its Update message: its own
// identifier (the alert id, ".update.", the update's seq), sent when it
// was updated, referring to the alert's first message.
func capAsUpdate(m *cap.Alert, al *storage.Alert) {
	m.References = []cap.Reference{{Sender: m.Sender, Identifier: al.ID, Sent: capSent(al.CreatedAt)}}
	m.Identifier = al.ID + ".update." + strconv.FormatInt(al.UpdateSeq, 10)
	m.MsgType = cap.MsgUpdate
	if al.UpdatedAt != nil {
		m.Sent = capSent(*al.UpdatedAt)
	}
}
