package phx

import (
	"errors"
	"fmt"
)

// Sentinel errors. They are matched with errors.Is.
var (
	// ErrStop, returned (bare or wrapped) from HandleIn, HandleOut or
	// HandleInfo, stops the channel gracefully: any reply returned with it is
	// sent, then phx_close, and the client does not rejoin. It is Phoenix's
	// {:stop, :normal | :shutdown, ...}.
	ErrStop = errors.New("phx: channel stopped")
	// ErrLeft is the Terminate reason when the client sent phx_leave.
	ErrLeft = errors.New("phx: client left")
	// ErrClosed is the Terminate reason when the connection went away, and
	// the error of Session methods called after the session ended.
	ErrClosed = errors.New("phx: connection closed")
	// ErrNotObject is returned when a push or broadcast payload is not a JSON
	// object; Phoenix clients only accept objects (or binaries) there.
	ErrNotObject = errors.New("phx: push and broadcast payloads must encode to a JSON object (a map or struct) or be phx.Binary")
)

// RefuseError is a join refusal. Its Payload becomes the response of the
// error reply the client receives. Return one with Refuse.
type RefuseError struct {
	Payload any
}

// Error implements error.
func (e *RefuseError) Error() string { return fmt.Sprintf("phx: join refused: %v", e.Payload) }

// Refuse returns a *RefuseError: from Join, it refuses the join and sends
// {"status":"error","response":payload}. A nil payload sends {}.
// It is Phoenix's {:error, reply}.
func Refuse(payload any) error { return &RefuseError{Payload: payload} }

// PanicError is the crash reason of a callback that panicked. Stack holds the
// goroutine's stack at the panic.
type PanicError struct {
	Value any
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("phx: panic: %v", e.Value) }
