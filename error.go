package enroute

import (
	"errors"
	"fmt"
)

// Error codes. They are the only codes a caller needs to branch on; the HTTP
// layer maps each to one status.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	EINTERNAL     = "internal"
)

// Error is the domain error. Message is safe to show to a user; Fields names
// the offending input fields, each with its own message.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	Rows    []RowError // an import's invalid values (RowErrors)
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("enroute error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors returns an EINVALID error naming each field and its problem.
// It returns nil when fields is empty, so validators can end with
// `return FieldErrors(fields)`.
func FieldErrors(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	msg := "Invalid input."
	if len(fields) == 1 {
		for k, v := range fields {
			msg = fmt.Sprintf("Invalid %s: %s.", k, v)
		}
	}
	return &Error{Code: EINVALID, Message: msg, Fields: fields}
}

// ErrorCode returns the code of err's *Error, EINTERNAL for any other error,
// and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err's *Error, or
// "Internal error." for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorFields returns the per-field messages of err's *Error, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// ErrorRows returns the row errors of err's *Error (an import), if any.
func ErrorRows(err error) []RowError {
	var e *Error
	if errors.As(err, &e) {
		return e.Rows
	}
	return nil
}
