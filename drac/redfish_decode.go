package drac

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pxelator/pxelator"
)

// Redfish reset types used by the power methods (Redfish
// ResetType@Redfish.AllowableValues).
const (
	ResetOn               = "On"
	ResetForceOff         = "ForceOff"
	ResetGracefulShutdown = "GracefulShutdown"
	ResetForceRestart     = "ForceRestart"
	ResetPowerCycle       = "PowerCycle"
)

// System is the part of a Redfish ComputerSystem resource this package
// reads.
type System struct {
	ID           string   // "System.Embedded.1"
	Path         string   // "/redfish/v1/Systems/System.Embedded.1"
	Manufacturer string   // "Dell Inc."
	Model        string   // "PowerEdge R6515"
	PowerState   string   // Redfish PowerState: "On", "Off", "PoweringOn", "PoweringOff", "Paused"
	ResetTarget  string   // path of the ComputerSystem.Reset action
	ResetTypes   []string // allowable reset types; empty when the BMC does not list them
}

// Power maps the Redfish PowerState onto a [pxelator.PowerState]:
// On and PoweringOff are on (the host still runs), Off and PoweringOn are
// off, Paused is sleep.
func (s *System) Power() pxelator.PowerState {
	switch s.PowerState {
	case "On", "PoweringOff":
		return pxelator.PowerOn
	case "Off", "PoweringOn":
		return pxelator.PowerOff
	case "Paused":
		return pxelator.PowerSleep
	}
	return pxelator.PowerUnknown
}

// allows reports whether the system offers reset type t. A system that
// lists no allowable values is assumed to offer all.
func (s *System) allows(t string) bool {
	if len(s.ResetTypes) == 0 {
		return true
	}
	for _, v := range s.ResetTypes {
		if v == t {
			return true
		}
	}
	return false
}

type odataLink struct {
	ID string `json:"@odata.id"`
}

type systemJSON struct {
	ODataID      string `json:"@odata.id"`
	ID           string `json:"Id"`
	Manufacturer string
	Model        string
	PowerState   string
	Actions      struct {
		Reset struct {
			Target     string   `json:"target"`
			ResetTypes []string `json:"ResetType@Redfish.AllowableValues"`
		} `json:"#ComputerSystem.Reset"`
	}
}

// decodeSystem parses a ComputerSystem resource.
func decodeSystem(b []byte) (*System, error) {
	var j systemJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("decoding ComputerSystem: %w: %w", ErrProtocol, err)
	}
	if j.ID == "" && j.ODataID == "" {
		return nil, fmt.Errorf("decoding ComputerSystem: no Id or @odata.id: %w", ErrProtocol)
	}
	return &System{
		ID:           j.ID,
		Path:         j.ODataID,
		Manufacturer: j.Manufacturer,
		Model:        j.Model,
		PowerState:   j.PowerState,
		ResetTarget:  j.Actions.Reset.Target,
		ResetTypes:   j.Actions.Reset.ResetTypes,
	}, nil
}

// decodeMembers parses a Redfish collection and returns its member paths.
func decodeMembers(b []byte) ([]string, error) {
	var j struct {
		Members []odataLink
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("decoding collection: %w: %w", ErrProtocol, err)
	}
	var out []string
	for _, m := range j.Members {
		if m.ID != "" {
			out = append(out, m.ID)
		}
	}
	return out, nil
}

// Error is an error response of a Redfish service: the HTTP status and
// the first extended message, which says what went wrong in words.
type Error struct {
	Op         string // the request: "reset On", "login", "GET system"
	StatusCode int
	Code       string // "Base.1.5.GeneralError"
	MessageID  string // "IDRAC.2.1.PSU501"
	Message    string // "Server is already powered ON."
	Resolution string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "drac: %s: HTTP %d %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.MessageID != "" {
		fmt.Fprintf(&b, " (%s)", e.MessageID)
	} else if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnauthorized) true for 401 and 403 and
// errors.Is(err, ErrNotAllowed) true for 400, 405 and 409.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrNotAllowed:
		switch e.StatusCode {
		case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusConflict:
			return true
		}
	}
	return false
}

type messageJSON struct {
	Message    string
	MessageID  string `json:"MessageId"`
	Resolution string
}

type errorJSON struct {
	Error struct {
		Code     string        `json:"code"`
		Message  string        `json:"message"`
		Extended []messageJSON `json:"@Message.ExtendedInfo"`
	} `json:"error"`
}

// decodeError builds an *Error from a Redfish error body. A body that is
// not a Redfish error still gives an *Error with the status; its text is
// not included, as it might be anything.
func decodeError(op string, status int, b []byte) *Error {
	e := &Error{Op: op, StatusCode: status}
	var j errorJSON
	if json.Unmarshal(b, &j) != nil {
		return e
	}
	e.Code = j.Error.Code
	e.Message = j.Error.Message
	for _, m := range j.Error.Extended {
		if m.Message != "" || m.MessageID != "" {
			e.Message, e.MessageID, e.Resolution = m.Message, m.MessageID, m.Resolution
			break
		}
	}
	e.Message = clean(e.Message)
	return e
}

// clean makes s safe to put in one error line: printable, bounded.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "..."
	}
	return strings.TrimSpace(s)
}

// errNoSystem is returned when the Systems collection is empty.
var errNoSystem = errors.New("the BMC lists no system")
