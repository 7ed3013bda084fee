package credits

import (
	"errors"
	"fmt"

	"github.com/aispace/credits/shared"
)

// Error is an error of the product's domain: a stable code from API.md and a message
// for people. The server maps codes to HTTP statuses in one table; anything that is
// not an *Error is reported as "internal" with a generic message.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message. Messages never
// contain secrets: callers pass hints, ids and amounts, never keys.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or shared.CodeInternal when err carries none.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return shared.CodeInternal
}

// ErrorMessage returns the message of err when it is a domain error, or a generic
// message for anything else (whose detail belongs in the log, not in an answer).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// The domain's own errors.
var (
	ErrInsufficient = &Error{Code: shared.CodeInsufficientCredits, Message: "not enough credits"}
	ErrDailyCap     = &Error{Code: shared.CodeInsufficientCredits, Message: "the daily spending cap of this account is reached"}
	ErrHoldClosed   = &Error{Code: shared.CodeConflict, Message: "this hold is no longer open"}
	ErrOverCapture  = &Error{Code: shared.CodeInvalid, Message: "cannot capture more than the hold reserved"}
	ErrAmount       = &Error{Code: shared.CodeInvalid, Message: "credits must be a positive whole number"}
)
