// Package notify sends the outbox: the durable queue of messages to members
// (storage.Message rows), of any channel. The hub decides who gets a message
// and when (the fallback policy) and writes the rows; a Dispatcher claims
// the due rows of each Channel, composes them (the templates), sends them at
// the channel's rate, records the outcome and reconciles the rows a crash
// left in doubt. A Sender only hands one message to a provider and says what
// happened; NewSMS makes a Sender (Twilio, the log) the SMS channel.
//
// SMS is the one channel today. A voice call is another Channel (its own
// Name, Compose and Send) and rows with its name; an invitation or a reply
// is another kind of row (storage.Ref) on a channel.
package notify

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/longyou/hub/storage"
)

// Message is one message to send, composed.
type Message struct {
	// Key identifies the message in the outbox (storage.MessageKey.String);
	// a sender may use it to find a message it may already have sent.
	Key  string
	To   string // E.164
	Body string
}

// Result is what the provider said about an accepted message.
type Result struct {
	ProviderID string // the provider's message id (Twilio's SID)
	Status     string // the provider's status word (queued, sent, ...)
	Segments   int
}

// Sender hands one SMS to a provider. Send returns a *SendError for a
// failure the provider reported, and any other error for a failure whose
// outcome is unknown (the request may or may not have been accepted).
type Sender interface {
	Send(ctx context.Context, m Message) (Result, error)
}

// Reconciler is the optional capability of a Sender, or a Channel, that can
// look up, after a crash, whether a message it may have sent was accepted.
type Reconciler interface {
	// Lookup finds a message to m.To accepted since the given time; found is
	// false when there is none.
	Lookup(ctx context.Context, m Message, since time.Time) (res Result, found bool, err error)
}

// Channel is one way of reaching a member: the dispatcher sends the outbox
// rows whose channel is its Name through it, at the rate it is given. It may
// also be a Reconciler; without that, rows left in doubt are sent again.
type Channel interface {
	// Name is the outbox channel it sends (storage.ChannelSMS).
	Name() string
	// Compose renders the message of a claimed row (its templates).
	Compose(it *Item) Message
	// Send hands the message to the provider, as Sender.Send does.
	Send(ctx context.Context, m Message) (Result, error)
}

// Item is a claimed outbox row with what it is about, for Compose.
type Item struct {
	Row *storage.Message
	// Alert is the alert of a row about one (Row.Ref.Type storage.RefAlert).
	Alert *storage.Alert
	// Invite is what the SMS of an invitation says (storage.RefInvite).
	Invite *Invite
	// LoginCode is the code of a login code's SMS (storage.RefLogin).
	LoginCode string
	// Text, when set, is the whole SMS as its service composed it (a
	// letter's reminder, storage.RefLetter; a report's, storage.RefReport;
	// v1.6).
	Text string
}

// Invite is what an invitation's SMS says: the member's name, its
// village's name and the sign-in link, valid for Days days.
type Invite struct {
	Name    string
	Village string
	Link    string
	Days    int
}

// Subjects reads what an outbox row about something other than an alert
// is about (an invitation, a login code): the service that queued it
// fills the Item (Row is set by the dispatcher).
type Subjects func(ctx context.Context, row *storage.Message) (*Item, error)

// SendError is a failure reported by the provider.
type SendError struct {
	Code       string        // the provider's error code, e.g. "21211"
	Permanent  bool          // never retry (invalid number, opted out)
	RetryAfter time.Duration // a hint for retryable errors; zero: use backoff
	Err        error
}

func (e *SendError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("sms %s failure %s: %v", kind, e.Code, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// IsPermanent tells whether err is a permanent provider failure.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ValidE164 tells whether s is an E.164 phone number (+ and 7 to 15 digits).
func ValidE164(s string) bool { return e164.MatchString(s) }
