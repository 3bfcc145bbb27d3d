package hub

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/longyou/hub/storage"
)

// Error codes of docs/API.md, and the HTTP status each one travels with.
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

var codeStatus = map[string]int{
	CodeBadRequest:   http.StatusBadRequest,
	CodeUnauthorized: http.StatusUnauthorized,
	CodeForbidden:    http.StatusForbidden,
	CodeNotFound:     http.StatusNotFound,
	CodeConflict:     http.StatusConflict,
	CodeTooLarge:     http.StatusRequestEntityTooLarge,
	CodeRateLimited:  http.StatusTooManyRequests,
	CodeUnavailable:  http.StatusServiceUnavailable,
	CodeInternal:     http.StatusInternalServerError,
}

// APIError is an error with an docs/API.md code, shown to the client as
// {"error":{"code","message"}} on HTTP and in WebSocket error replies.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Status is the HTTP status of the error's code.
func (e *APIError) Status() int {
	if s, ok := codeStatus[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

func apiErr(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *APIError {
	return apiErr(CodeBadRequest, format, args...)
}

var (
	errForbidden   = &APIError{Code: CodeForbidden, Message: "your role may not do this"}
	errNotFound    = &APIError{Code: CodeNotFound, Message: "no such object"}
	errUnavailable = &APIError{Code: CodeUnavailable, Message: "the hub is shutting down"}
)

// toAPIError maps any error to the APIError the client sees: API errors as
// they are, the store's sentinels to their codes, anything else to internal.
func toAPIError(err error) *APIError {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, storage.ErrNotFound):
		return errNotFound
	case errors.Is(err, storage.ErrConflict):
		return apiErr(CodeConflict, "the object changed or is not in a state that allows this")
	case errors.Is(err, errShuttingDown):
		return errUnavailable
	default:
		return &APIError{Code: CodeInternal, Message: "internal error"}
	}
}

var errShuttingDown = errors.New("hub is shutting down")
