package amt

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnauthorized is wrapped by the error of a request the device refused
// to authenticate: a wrong user name or password, a locked account, or a
// device that keeps asking for authentication after a login.
var ErrUnauthorized = errors.New("authentication failed")

// Fault is a SOAP fault: the device understood the request and refused it.
type Fault struct {
	Code    string // "Sender" or "Receiver" (SOAP 1.1: "Client", "Server")
	Subcode string // such as "DestinationUnreachable", without prefix
	Reason  string // the device's explanation
	Status  int    // the HTTP status the fault came with
}

// Error describes the fault for a person.
func (f *Fault) Error() string {
	var b strings.Builder
	b.WriteString("amt: SOAP fault")
	if f.Subcode != "" {
		b.WriteString(" " + f.Subcode)
	}
	if f.Code != "" {
		fmt.Fprintf(&b, " (%s)", f.Code)
	}
	if f.Reason != "" {
		b.WriteString(": " + f.Reason)
	}
	if hint := faultHints[f.Subcode]; hint != "" {
		b.WriteString(" [" + hint + "]")
	}
	if f.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", f.Status)
	}
	return b.String()
}

// faultHints explain the WS-Management faults a power client meets.
var faultHints = map[string]string{
	"DestinationUnreachable":    "this firmware does not know the resource",
	"ActionNotSupported":        "this firmware does not support the operation",
	"AccessDenied":              "the account may not do this",
	"InvalidEnumerationContext": "the enumeration expired or was never started",
	"InvalidSelectors":          "the resource was addressed with wrong selectors",
	"SchemaValidationError":     "the device could not parse the request",
}

// ReturnValue codes of CIM methods such as RequestPowerStateChange.
const (
	ReturnOK                     = 0
	ReturnNotSupported           = 1
	ReturnUnknown                = 2
	ReturnTimeout                = 3
	ReturnFailed                 = 4
	ReturnInvalidParameter       = 5
	ReturnInUse                  = 6
	ReturnJobStarted             = 4096
	ReturnInvalidStateTransition = 4097
	ReturnBusy                   = 4099
)

var returnValueText = map[int]string{
	ReturnOK:                     "completed",
	ReturnNotSupported:           "not supported",
	ReturnUnknown:                "unknown or unspecified error (AMT answers this for a change the current power state does not allow)",
	ReturnTimeout:                "timeout",
	ReturnFailed:                 "failed",
	ReturnInvalidParameter:       "invalid parameter",
	ReturnInUse:                  "in use",
	ReturnJobStarted:             "job started",
	ReturnInvalidStateTransition: "invalid state transition",
	ReturnBusy:                   "busy",
}

// ReturnValueError is a CIM method call that the device answered with a
// non-zero ReturnValue. A ReturnValue of 1 (not supported) matches
// [errors.ErrUnsupported] with errors.Is.
type ReturnValueError struct {
	Method string // "RequestPowerStateChange"
	Arg    string // what was asked, such as "PowerState 2 (on)"
	Code   int
}

// Error describes the error for a person.
func (e *ReturnValueError) Error() string {
	text := returnValueText[e.Code]
	if text == "" {
		text = "undocumented code"
	}
	return fmt.Sprintf("amt: %s(%s): ReturnValue %d: %s", e.Method, e.Arg, e.Code, text)
}

// Is reports whether e means the device does not support the operation.
func (e *ReturnValueError) Is(target error) bool {
	return target == errors.ErrUnsupported && e.Code == ReturnNotSupported
}

// Legacy (AMT 2 to 5) PT_STATUS codes a power client meets, from the
// Intel AMT Network Design Guide.
const (
	StatusSuccess          = 0x0
	StatusInternalError    = 0x1
	StatusNotReady         = 0x2
	StatusInvalidMode      = 0x3
	StatusNotPermitted     = 0x10
	StatusInvalidParameter = 0x24
	StatusUnsupportedOEM   = 0x801
	StatusInvalidCommand   = 0x803
)

var statusText = map[uint32]string{
	StatusSuccess:          "success",
	StatusInternalError:    "internal error",
	StatusNotReady:         "not ready",
	StatusInvalidMode:      "not permitted in the current mode",
	StatusNotPermitted:     "not permitted",
	StatusInvalidParameter: "invalid parameter",
	StatusUnsupportedOEM:   "unsupported OEM number",
	StatusInvalidCommand:   "unsupported command",
}

// StatusError is a legacy SOAP call that the device answered with a
// non-zero Status (a PT_STATUS code).
type StatusError struct {
	Method string // "RemoteControl", "GetSystemPowerState"
	Arg    string
	Status uint32
}

// Error describes the error for a person.
func (e *StatusError) Error() string {
	text := statusText[e.Status]
	if text == "" {
		text = "undocumented status"
	}
	return fmt.Sprintf("amt: %s(%s): status %#x: %s", e.Method, e.Arg, e.Status, text)
}

// Is reports whether e means the device does not support the operation.
func (e *StatusError) Is(target error) bool {
	return target == errors.ErrUnsupported && (e.Status == StatusInvalidCommand || e.Status == StatusUnsupportedOEM)
}

// HTTPError is an HTTP answer that carries no SOAP envelope: an error
// status, or a web page where SOAP was expected.
type HTTPError struct {
	URL         string
	Status      int
	ContentType string
	Snippet     string // the start of the body, for a person to read
}

// Error describes the error for a person.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("amt: POST %s: HTTP %d", e.URL, e.Status)
	if e.ContentType != "" {
		msg += " with " + e.ContentType
	}
	msg += ", not a SOAP envelope"
	if e.Snippet != "" {
		msg += ": " + e.Snippet
	}
	return msg
}
