package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration that travels in JSON as a Go duration string
// ("30m", "2h", "1h30m", "45s", "200ms"), which an admin can read and write,
// unlike nanoseconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d without zero units: "24h", "30m", "1h30m", "200ms".
func (d Duration) String() string {
	t := time.Duration(d)
	if t == 0 {
		return "0s"
	}
	if t%time.Second != 0 || t < 0 {
		return t.String()
	}
	h, m, s := t/time.Hour, t%time.Hour/time.Minute, t%time.Minute/time.Second
	var b []byte
	if h > 0 {
		b = strconv.AppendInt(b, int64(h), 10)
		b = append(b, 'h')
	}
	if m > 0 {
		b = strconv.AppendInt(b, int64(m), 10)
		b = append(b, 'm')
	}
	if s > 0 {
		b = strconv.AppendInt(b, int64(s), 10)
		b = append(b, 's')
	}
	return string(b)
}

// MarshalJSON writes d as a quoted duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// errDurationJSON is the cause for a duration that is not a string.
var errDurationJSON = errors.New(`a duration is a string such as "30m" or "2h"`)

// UnmarshalJSON reads a quoted duration string (time.ParseDuration). A bare
// number is refused: it would be ambiguous between seconds and nanoseconds.
// null leaves d unchanged.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil // as encoding/json does for other types
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errDurationJSON
	}
	t, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q: %w", s, errDurationJSON)
	}
	*d = Duration(t)
	return nil
}
