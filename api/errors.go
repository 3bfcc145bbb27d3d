package api

import (
	"net/http"

	"github.com/longyou/hub/service"
)

// codeStatus is the HTTP status each docs/API.md error code travels with.
var codeStatus = map[string]int{
	service.CodeBadRequest:   http.StatusBadRequest,
	service.CodeUnauthorized: http.StatusUnauthorized,
	service.CodeForbidden:    http.StatusForbidden,
	service.CodeNotFound:     http.StatusNotFound,
	service.CodeConflict:     http.StatusConflict,
	service.CodeTooLarge:     http.StatusRequestEntityTooLarge,
	service.CodeRateLimited:  http.StatusTooManyRequests,
	service.CodeUnavailable:  http.StatusServiceUnavailable,
	service.CodeInternal:     http.StatusInternalServerError,
}

func status(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorJSON is the error object of docs/API.md.
type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func errorOf(err error) errorJSON {
	se := service.From(err)
	return errorJSON{Code: se.Code, Message: se.Message}
}
