package amt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The structures below match elements by local name only: encoding/xml
// ignores the namespace of a tag written without one, so any prefix a
// firmware uses works, and elements not named here are skipped.

// envelope is a SOAP 1.1 or 1.2 answer.
type envelope struct {
	XMLName xml.Name
	Body    body `xml:"Body"`
}

type body struct {
	Fault         *xmlFault            `xml:"Fault"`
	PowerService  *xmlPowerService     `xml:"CIM_AssociatedPowerManagementService"`
	Output        *xmlOutput           `xml:"RequestPowerStateChange_OUTPUT"`
	Enumerate     *xmlEnumerate        `xml:"EnumerateResponse"`
	Pull          *xmlPull             `xml:"PullResponse"`
	SystemPower   *xmlSystemPowerState `xml:"GetSystemPowerStateResponse"`
	RemoteControl *xmlStatus           `xml:"RemoteControlResponse"`
	Identify      *xmlIdentify         `xml:"IdentifyResponse"`
}

type xmlIdentify struct {
	ProtocolVersion string `xml:"ProtocolVersion"`
	ProductVendor   string `xml:"ProductVendor"`
	ProductVersion  string `xml:"ProductVersion"`
}

type xmlFault struct {
	// SOAP 1.2
	Code struct {
		Value   string `xml:"Value"`
		Subcode struct {
			Value string `xml:"Value"`
		} `xml:"Subcode"`
	} `xml:"Code"`
	Reason struct {
		Text []string `xml:"Text"`
	} `xml:"Reason"`
	// SOAP 1.1
	FaultCode   string `xml:"faultcode"`
	FaultString string `xml:"faultstring"`
}

func (x *xmlFault) fault() *Fault {
	f := &Fault{
		Code:    localName(x.Code.Value),
		Subcode: localName(x.Code.Subcode.Value),
		Reason:  strings.Join(strings.Fields(strings.Join(x.Reason.Text, " ")), " "),
	}
	if f.Code == "" {
		f.Code = localName(x.FaultCode)
	}
	if f.Reason == "" {
		f.Reason = strings.Join(strings.Fields(x.FaultString), " ")
	}
	return f
}

// localName strips the prefix of a QName such as "b:DestinationUnreachable".
func localName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

type xmlPowerService struct {
	PowerState string   `xml:"PowerState"`
	Available  []string `xml:"AvailableRequestedPowerStates"`
}

type xmlOutput struct {
	ReturnValue *string `xml:"ReturnValue"`
}

type xmlEnumerate struct {
	Context string `xml:"EnumerationContext"`
}

type xmlPull struct {
	Context string `xml:"EnumerationContext"`
	Items   struct {
		PowerServices []xmlPowerService `xml:"CIM_AssociatedPowerManagementService"`
	} `xml:"Items"`
	EndOfSequence *struct{} `xml:"EndOfSequence"`
}

type xmlSystemPowerState struct {
	Status           *string `xml:"Status"`
	SystemPowerState *string `xml:"SystemPowerState"`
}

type xmlStatus struct {
	Status *string `xml:"Status"`
}

// decodeEnvelope parses a SOAP answer.
func decodeEnvelope(data []byte) (*envelope, error) {
	var env envelope
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	if err := d.Decode(&env); err != nil {
		return nil, fmt.Errorf("answer is not well-formed XML: %w", err)
	}
	if env.XMLName.Local != "Envelope" {
		return nil, fmt.Errorf("answer is a <%s> element, not a SOAP Envelope", env.XMLName.Local)
	}
	return &env, nil
}

var errMissing = errors.New("missing")

func parseUint(s, name string) (uint32, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("answer has no %s: %w", name, errMissing)
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("answer has %s %q, not a number", name, truncate(s, 40))
	}
	return uint32(n), nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

// escape returns s escaped for XML character data.
func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
