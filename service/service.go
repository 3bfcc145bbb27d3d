// Package service holds what the domain services (service/alerting,
// service/reports, service/bulletins, service/members) share: the error
// type with docs/API.md's codes, the Actor who acts, input checks, ids and
// tokens, and the per-member rate limiter.
package service

import (
	"errors"
	"fmt"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/storage"
)

// Error codes of docs/API.md.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeTooLarge     = "too_large"
	CodeRateLimited  = "rate_limited"
	CodeUnavailable  = "unavailable"
	// CodeInternal is not in docs/API.md: a bug, logged and counted.
	CodeInternal = "internal"
)

// Error is an error with a docs/API.md code; the API shows it to the client
// as {"error":{"code","message"}} on HTTP and in WebSocket error replies.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf is an Error with this code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a bad_request.
func Invalid(format string, args ...any) *Error {
	return Errorf(CodeBadRequest, format, args...)
}

// Sentinels of the common cases.
var (
	ErrForbidden   = &Error{Code: CodeForbidden, Message: "your role may not do this"}
	ErrNotFound    = &Error{Code: CodeNotFound, Message: "no such object"}
	ErrUnavailable = &Error{Code: CodeUnavailable, Message: "the hub is shutting down"}
	// ErrStoreUnavailable says the store cannot answer now, without its
	// details (host, user, database: those go to the log only).
	ErrStoreUnavailable = &Error{Code: CodeUnavailable, Message: "the hub cannot reach its database now; try again shortly"}
	errInternal         = &Error{Code: CodeInternal, Message: "internal error"}
	errConflict         = &Error{Code: CodeConflict, Message: "the object changed or is not in a state that allows this"}
)

// From maps any error to the Error the client sees: service errors as they
// are, the store's sentinels to their codes, anything else to internal.
func From(err error) *Error {
	var se *Error
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, storage.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, storage.ErrConflict):
		return errConflict
	case errors.Is(err, hub.ErrShuttingDown):
		return ErrUnavailable
	case storage.IsUnavailable(err):
		return ErrStoreUnavailable
	default:
		return errInternal
	}
}

// IsNotFound tells whether err means not_found.
func IsNotFound(err error) bool { return From(err).Code == CodeNotFound }

// Actor is who acts: the authenticated member on whose behalf a service
// runs. The API has authorized the action before it calls the service.
type Actor struct {
	ID        string
	Role      storage.Role
	VillageID string
}

// ActorOf is the actor of a member.
func ActorOf(m *storage.Member) Actor {
	return Actor{ID: m.ID, Role: m.Role, VillageID: m.VillageID}
}
