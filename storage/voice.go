package storage

import (
	"context"
	"time"
)

// Voice calls and SMS replies (issue 12). A call is an outbox row of
// channel ChannelVoice, kind MessageAlert, written with the alert
// (Target.VoiceDueAt) and claimed, fenced, cancelled and reconciled like an
// SMS; a reply the hub cannot read is answered by one help SMS, a row of
// Ref type RefReply. docs/API.md "v1.5 (voice calls and SMS replies)".

// ChannelVoice is the outbox channel of phone calls (notify's voice
// channel).
const ChannelVoice = "voice"

// RefReply is the Ref type of a message answering an inbound SMS: Ref.ID
// is the inbound message's provider id (Twilio's MessageSid).
const RefReply = "reply"

// MessageHelp is the kind of the help SMS sent to a reply the hub could
// not read.
const MessageHelp = "help"

// Inbound is one SMS a member sent to the hub, as recorded (the text is
// not kept).
type Inbound struct {
	// SID is the provider's id of the message (Twilio's MessageSid): a
	// retried webhook carries the same one.
	SID      string
	MemberID string
	// AlertID is the alert the reply was taken for ("" when none).
	AlertID string
	// Outcome is what the hub did: "answer" (Response recorded), "help"
	// (unreadable: a help SMS was queued), "unread" (unreadable, no help
	// SMS: one was sent already for this member and alert).
	Outcome  string
	Response string
	At       time.Time
}

// Outcomes of an inbound SMS.
const (
	InboundAnswer = "answer"
	InboundHelp   = "help"
	InboundUnread = "unread"
)

// Voice is the part of the Store contract about calls and SMS replies.
type Voice interface {
	// MemberByPhone finds the member (not erased) with this phone;
	// ErrNotFound when none.
	MemberByPhone(ctx context.Context, phone string) (Member, error)
	// InboundSeen tells whether an inbound SMS with this provider id was
	// recorded already (a retried webhook).
	InboundSeen(ctx context.Context, sid string) (bool, error)
	// RecordInbound records an inbound SMS once (a second call with the
	// same SID changes nothing and returns dup). When help is not nil
	// (the reply was unreadable) and no inbound SMS of the same member and
	// alert was answered by a help message yet, help is queued (as
	// EnqueueMessages would) in the same transaction, in.Outcome is stored
	// as InboundHelp and queued is true; otherwise the outcome is stored
	// as InboundUnread. So a member gets at most one help SMS per alert,
	// however many unreadable replies (or concurrent webhooks) come.
	RecordInbound(ctx context.Context, in Inbound, help *Message) (dup, queued bool, err error)
	// ChannelCounts counts the alert's messages of kind MessageAlert on
	// the channel by state (Segments summed); ErrNotFound for an unknown
	// alert.
	ChannelCounts(ctx context.Context, alertID, channel string) (SMSCounts, error)
	// ChannelStates maps each member with a message of kind MessageAlert
	// about the alert on the channel to its state.
	ChannelStates(ctx context.Context, alertID, channel string) (map[string]string, error)
}
