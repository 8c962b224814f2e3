package amttest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// Request is a SOAP request as the emulator reads it: by local element
// name, so that any prefixes work (the vectors hold two styles of the
// same call), ignoring elements it does not know.
type Request struct {
	Action      string // WS-Addressing Action (WS-Man only)
	ResourceURI string
	MessageID   string
	Selectors   map[string]string
	// Method is the local name of the first element of the Body, such as
	// "RequestPowerStateChange_INPUT", "Pull" or "RemoteControl".
	Method string
	// Params holds the text of the Method element's children by local
	// name, such as "PowerState", "EnumerationContext" or "Command".
	Params map[string]string
}

// ParseRequest parses a SOAP 1.1 or 1.2 request envelope.
func ParseRequest(data []byte) (*Request, error) {
	var env struct {
		XMLName xml.Name
		Header  struct {
			Action      string `xml:"Action"`
			ResourceURI string `xml:"ResourceURI"`
			MessageID   string `xml:"MessageID"`
			Selectors   []struct {
				Name  string `xml:"Name,attr"`
				Value string `xml:",chardata"`
			} `xml:"SelectorSet>Selector"`
		} `xml:"Header"`
		Body struct {
			Calls []struct {
				XMLName xml.Name
				Params  []struct {
					XMLName xml.Name
					Value   string `xml:",chardata"`
				} `xml:",any"`
			} `xml:",any"`
		} `xml:"Body"`
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	if err := d.Decode(&env); err != nil {
		return nil, fmt.Errorf("amttest: request is not well-formed XML: %w", err)
	}
	if env.XMLName.Local != "Envelope" {
		return nil, fmt.Errorf("amttest: request is a <%s>, not a SOAP Envelope", env.XMLName.Local)
	}
	r := &Request{
		Action:      strings.TrimSpace(env.Header.Action),
		ResourceURI: strings.TrimSpace(env.Header.ResourceURI),
		MessageID:   strings.TrimSpace(env.Header.MessageID),
		Selectors:   map[string]string{},
		Params:      map[string]string{},
	}
	for _, s := range env.Header.Selectors {
		r.Selectors[s.Name] = strings.TrimSpace(s.Value)
	}
	if len(env.Body.Calls) > 0 {
		call := env.Body.Calls[0]
		r.Method = call.XMLName.Local
		for _, p := range call.Params {
			if _, dup := r.Params[p.XMLName.Local]; !dup {
				r.Params[p.XMLName.Local] = strings.TrimSpace(p.Value)
			}
		}
	}
	return r, nil
}
