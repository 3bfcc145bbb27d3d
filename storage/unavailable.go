package storage

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
)

// ErrUnavailable: the store cannot answer now (the database is down,
// unreachable, stalled past the request's deadline, out of disk), as
// opposed to a bug. docs/API.md answers it with 503 unavailable. Backends
// may wrap it; IsUnavailable also recognises the drivers' own errors.
var ErrUnavailable = errors.New("store unavailable")

// IsUnavailable tells whether err means the store cannot answer now:
// ErrUnavailable, a deadline or cancellation, a network error, a
// PostgreSQL error of the connection, resource or operator-intervention
// classes (SQLSTATE 08, 53, 57P, 58), or an SQLite error that is about the
// disk or the file rather than the query (full, I/O, busy, read-only,
// cannot open). The drivers' errors are recognised by the methods they
// have (SQLState, Code), so this package imports neither driver.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		s := pg.SQLState()
		return strings.HasPrefix(s, "08") || strings.HasPrefix(s, "53") || strings.HasPrefix(s, "57P") ||
			strings.HasPrefix(s, "58")
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff { // the primary result code
		case 5, // SQLITE_BUSY
			6,  // SQLITE_LOCKED
			8,  // SQLITE_READONLY
			10, // SQLITE_IOERR
			13, // SQLITE_FULL
			14: // SQLITE_CANTOPEN
			return true
		}
	}
	return false
}
