// Package notify sends SMS. The hub decides who gets an SMS and when (the
// fallback policy and the durable outbox live in hub and storage); a Sender
// only hands one message to a provider and says what happened.
package notify

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Message is one SMS to send.
type Message struct {
	// Key identifies the message in the outbox (alert id, member id, kind);
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

// Reconciler is the optional capability of a Sender that can look up, after
// a crash, whether a message it may have sent was accepted.
type Reconciler interface {
	// Lookup finds a message to m.To accepted since the given time; found is
	// false when there is none.
	Lookup(ctx context.Context, m Message, since time.Time) (res Result, found bool, err error)
}

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
