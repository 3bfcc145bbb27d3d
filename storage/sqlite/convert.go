package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Times are stored as INTEGER microseconds since the Unix epoch, UTC, and the
// zero time as NULL (see migration/00001_init.sql).

// tv is the column value of t.
func tv(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// tpv is the column value of an optional time.
func tpv(t *time.Time) any {
	if t == nil {
		return nil
	}
	return tv(*t)
}

// timeCol scans a time column into *t (the zero time for NULL).
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(x).UTC()
	default:
		return fmt.Errorf("time column holds %T", v)
	}
	return nil
}

// timePtrCol scans a time column into *p (nil for NULL).
type timePtrCol struct{ p **time.Time }

func (c timePtrCol) Scan(v any) error {
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	if v == nil {
		*c.p = nil
	} else {
		*c.p = &t
	}
	return nil
}

// intPtrCol scans a nullable integer column into *p.
type intPtrCol struct{ p **int }

func (c intPtrCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.p = nil
	case int64:
		n := int(x)
		*c.p = &n
	default:
		return fmt.Errorf("integer column holds %T", v)
	}
	return nil
}

// ipv is the column value of an optional int.
func ipv(p *int) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

// nullStr is the column value of a string that is NULL when empty (phone,
// provider id: columns that are unique or indexed only when set).
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// strCol scans a nullable text column into *s ("" for NULL).
type strCol struct{ s *string }

func (c strCol) Scan(v any) error {
	var ns sql.NullString
	if err := ns.Scan(v); err != nil {
		return err
	}
	*c.s = ns.String
	return nil
}

// jsonText is the TEXT column value of v as JSON, NULL when v is nil or an
// empty slice (nil and empty mean the same for Villages and Roles).
func jsonText[T any](v []T) (any, error) {
	if len(v) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonCol scans a nullable JSON text column into *dst (left nil for NULL).
type jsonCol[T any] struct{ dst *T }

func (c jsonCol[T]) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return fmt.Errorf("json column holds %T", v)
	}
	return json.Unmarshal(b, c.dst)
}

// rawCol scans a nullable text or blob column into a json.RawMessage (nil
// for NULL), copying the bytes.
type rawCol struct{ dst *json.RawMessage }

func (c rawCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.dst = nil
	case string:
		*c.dst = json.RawMessage(x)
	case []byte:
		*c.dst = append(json.RawMessage(nil), x...)
	default:
		return fmt.Errorf("json column holds %T", v)
	}
	return nil
}

// rawText is the TEXT column value of a JSON document, NULL when empty.
func rawText(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

// rawBlob is the BLOB column value of a JSON document, NULL when empty.
func rawBlob(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return []byte(m)
}
