package amttest

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// PT_STATUS codes the legacy services answer with.
const (
	statusSuccess        = 0x0
	statusNotPermitted   = 0x10
	statusUnsupportedOEM = 0x801
	statusInvalidCommand = 0x803
)

// legacyCommands maps RemoteControl commands to the CIM state they ask
// for.
var legacyCommands = map[int]int{16: 10, 17: 2, 18: 8, 19: 5}

// systemPowerState maps a CIM state to the legacy SystemPowerState.
func systemPowerState(cim int) int {
	switch cim {
	case 2:
		return 0 // S0
	case 4:
		return 3 // S3
	case 7:
		return 4 // S4
	}
	return 5 // S5 soft off
}

func (b *BMC) serveLegacy(w http.ResponseWriter, path string, body []byte) {
	req, err := ParseRequest(body)
	if err != nil {
		soap11Fault(w, "soap:Client", err.Error())
		return
	}
	ns := "http://schemas.intel.com/platform/client/" + strings.TrimSuffix(strings.TrimPrefix(path, "/"), "Service") + "/2004/01"
	switch path + "#" + req.Method {
	case "/RemoteControlService#GetSystemPowerState":
		b.mu.Lock()
		sps := systemPowerState(b.state)
		b.mu.Unlock()
		soap11Answer(w, ns, req.Method, "Status", statusSuccess, "SystemPowerState", strconv.Itoa(sps))
	case "/RemoteControlService#RemoteControl":
		cmd, cerr := strconv.Atoi(req.Params["Command"])
		cim, known := legacyCommands[cmd]
		status := statusSuccess
		b.mu.Lock()
		switch {
		case cerr != nil || !known:
			status = statusInvalidCommand
		case req.Params["IanaOemNumber"] != "343":
			status = statusUnsupportedOEM
		default:
			if next, ok := transition(b.state, cim); ok {
				b.state = next
				b.changes = append(b.changes, cim)
			} else {
				status = statusNotPermitted
			}
		}
		b.mu.Unlock()
		soap11Answer(w, ns, req.Method, "Status", status)
	case "/RemoteControlService#GetRemoteControlCapabilities":
		// Intel's OEM number, no OEM capabilities, the standard special
		// commands (PXE, HD, HD safe mode, diagnostics, CD), and power
		// cycle, down, up and reset.
		soap11Answer(w, ns, req.Method, "Status", statusSuccess, "IanaOemNumber", "343",
			"OemDefinedCapabilities", "0", "SpecialCommandsSupported", "7936",
			"SystemCapabilitiesSupported", "15", "SystemFirmwareCapabilities", "0")
	case "/SecurityAdministrationService#GetCoreVersion":
		soap11Answer(w, ns, req.Method, "StatusCode", statusSuccess, "Version", "2.6.3")
	case "/NetworkAdministrationService#GetHostName":
		soap11Answer(w, ns, req.Method, "StatusCode", statusSuccess, "HostName", "amttest")
	case "/NetworkAdministrationService#GetDomainName":
		soap11Answer(w, ns, req.Method, "StatusCode", statusSuccess, "DomainName", "example")
	default:
		soap11Fault(w, "soap:Client", fmt.Sprintf("%s does not know the method %q", path, req.Method))
	}
}

// soap11Answer writes <methodResponse> with the status element first and
// then name/value pairs.
func soap11Answer(w http.ResponseWriter, ns, method, statusName string, status int, pairs ...string) {
	var s strings.Builder
	s.WriteString(`<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:rci="` + ns + `"><SOAP-ENV:Body>`)
	fmt.Fprintf(&s, `<rci:%sResponse><rci:%s>%d</rci:%s>`, method, statusName, status, statusName)
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&s, `<rci:%s>%s</rci:%s>`, pairs[i], escape(pairs[i+1]), pairs[i])
	}
	fmt.Fprintf(&s, `</rci:%sResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>`, method)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write([]byte(s.String()))
}

func soap11Fault(w http.ResponseWriter, code, reason string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>%s</faultcode><faultstring>%s</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
		code, escape(reason))
}

func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
