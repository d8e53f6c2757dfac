// Package cases is the domain of the 防返贫预警助手: households, warnings, cases and their
// lifecycle, the county's rules and its working-day calendar. It imports only the standard
// library and pure helpers; storage lives in cases/postgres.
package cases

import (
	"errors"
	"fmt"
)

// Code classifies a domain error so that edges (chat, HTTP, CLI) can map it.
type Code string

const (
	ENotFound  Code = "not_found"
	EForbidden Code = "forbidden"
	EInvalid   Code = "invalid"
	EConflict  Code = "conflict"
	EIllegal   Code = "illegal_transition"
	EInternal  Code = "internal"
	// ETooLarge is input over one of the limits of docs/limits.md (file size, unpacked size,
	// rows, columns, cell or line length); the message names the limit.
	ETooLarge Code = "too_large"
)

// Error is a domain error: Msg is polite Chinese that may be shown to the user as it is.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Msg }

// Errorf builds a domain error with a user-facing Chinese message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first domain error in err's chain, or EInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of err, or a generic apology for internal
// errors, whose details stay in the logs.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return "系统出了点问题，请稍后再试；如仍不行，请联系县扶贫办。"
}
