// Package errd holds the deferred error wrap every package of the hub uses
// (coder/websocket's internal/errd): an exported function names what it was
// doing once, in a defer, instead of at each return.
package errd

import "fmt"

// Wrap prefixes a non-nil *err with prefix, as "prefix: err", keeping the
// cause matchable with errors.Is and errors.As. It does nothing when *err is
// nil. Use it deferred, with a named error result:
//
//	func (t *Twilio) Send(ctx context.Context, m Message) (res Result, err error) {
//		defer errd.Wrap(&err, "twilio send")
func Wrap(err *error, prefix string) {
	if *err != nil {
		*err = fmt.Errorf("%s: %w", prefix, *err)
	}
}
