package amttest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Names the emulator serves.
const (
	cimBase        = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	resourceAPMS   = cimBase + "CIM_AssociatedPowerManagementService"
	resourcePMS    = cimBase + "CIM_PowerManagementService"
	actionGet      = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
	actionEnum     = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
	actionPull     = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
	actionRPSC     = resourcePMS + "/RequestPowerStateChange"
	soapContent    = "application/soap+xml;charset=UTF-8"
	envelopeHeader = `<?xml version="1.0" encoding="UTF-8"?><a:Envelope xmlns:a="http://www.w3.org/2003/05/soap-envelope" xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:c="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:d="http://schemas.xmlsoap.org/ws/2005/02/trust" xmlns:e="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:f="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd" xmlns:g="%s" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`
)

// available returns the states RequestPowerStateChange accepts in cim,
// in the order a real device lists them.
func available(cim int) []int {
	if cim == 2 {
		return []int{10, 8, 5, 11, 4, 7, 14, 12}
	}
	return []int{2}
}

// transition returns the state after a change to req, or ok false when
// the current state does not allow it.
func transition(cur, req int) (next int, ok bool) {
	allowed := false
	for _, a := range available(cur) {
		allowed = allowed || a == req
	}
	if !allowed {
		return cur, false
	}
	switch req {
	case 8, 12:
		return 8, true
	case 4, 7:
		return req, true
	}
	return 2, true // on, cycle, reset, NMI, graceful reset
}

func (b *BMC) serveWSMan(w http.ResponseWriter, body []byte) {
	req, err := ParseRequest(body)
	if err != nil {
		wsFault(w, "", "a:Sender", "c:SchemaValidationError", "The supplied SOAP request is not valid: "+err.Error())
		return
	}
	switch req.ResourceURI {
	case resourceAPMS:
		switch req.Action {
		case actionGet:
			if b.opts.NoGet {
				b.actionNotSupported(w, req)
				return
			}
			b.mu.Lock()
			inst := b.instance()
			b.mu.Unlock()
			wsAnswer(w, req, resourceAPMS, actionGet+"Response", inst)
		case actionEnum:
			var raw [8]byte
			rand.Read(raw[:])
			ctx := fmt.Sprintf("%X-0000-0000-0000-000000000000", raw[:4])
			b.mu.Lock()
			if len(b.enums) > 64 {
				clear(b.enums)
			}
			b.enums[ctx] = true
			b.mu.Unlock()
			wsAnswer(w, req, resourceAPMS, actionEnum+"Response",
				`<n:EnumerateResponse><n:EnumerationContext>`+ctx+`</n:EnumerationContext></n:EnumerateResponse>`)
		case actionPull:
			ctx := req.Params["EnumerationContext"]
			b.mu.Lock()
			known := req.Method == "Pull" && b.enums[ctx]
			delete(b.enums, ctx)
			inst := b.instance()
			b.mu.Unlock()
			if !known {
				wsFault(w, req.MessageID, "a:Receiver", "n:InvalidEnumerationContext", "The supplied enumeration context is invalid.")
				return
			}
			wsAnswer(w, req, resourceAPMS, actionPull+"Response",
				`<n:PullResponse><n:Items>`+inst+`</n:Items><n:EndOfSequence></n:EndOfSequence></n:PullResponse>`)
		default:
			b.actionNotSupported(w, req)
		}
	case resourcePMS:
		if req.Action != actionRPSC || req.Method != "RequestPowerStateChange_INPUT" {
			b.actionNotSupported(w, req)
			return
		}
		ps, err := strconv.Atoi(req.Params["PowerState"])
		rv := 0
		b.mu.Lock()
		switch {
		case err != nil || ps < 2 || ps > 16:
			rv = 5 // invalid parameter
		default:
			next, ok := transition(b.state, ps)
			if ok {
				b.state = next
				b.changes = append(b.changes, ps)
			} else {
				rv = 2 // what a real NUC answers for a change it does not allow
			}
		}
		b.mu.Unlock()
		wsAnswer(w, req, resourcePMS, actionRPSC+"Response",
			fmt.Sprintf(`<g:RequestPowerStateChange_OUTPUT><g:ReturnValue>%d</g:ReturnValue></g:RequestPowerStateChange_OUTPUT>`, rv))
	default:
		wsFault(w, req.MessageID, "a:Sender", "b:DestinationUnreachable",
			"No route can be determined to reach the destination role defined by the WSAddressing To.")
	}
}

func (b *BMC) actionNotSupported(w http.ResponseWriter, req *Request) {
	wsFault(w, req.MessageID, "a:Sender", "b:ActionNotSupported",
		"The action is not supported by the service.")
}

// instance renders CIM_AssociatedPowerManagementService; b.mu is held.
func (b *BMC) instance() string {
	var s strings.Builder
	s.WriteString(`<g:CIM_AssociatedPowerManagementService>`)
	for _, a := range available(b.state) {
		fmt.Fprintf(&s, `<g:AvailableRequestedPowerStates>%d</g:AvailableRequestedPowerStates>`, a)
	}
	fmt.Fprintf(&s, `<g:PowerState>%d</g:PowerState>`, b.state)
	s.WriteString(`<g:ServiceProvided><b:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</b:Address><b:ReferenceParameters><c:ResourceURI>` + resourcePMS + `</c:ResourceURI><c:SelectorSet><c:Selector Name="CreationClassName">CIM_PowerManagementService</c:Selector><c:Selector Name="Name">Intel(r) AMT Power Management Service</c:Selector><c:Selector Name="SystemCreationClassName">CIM_ComputerSystem</c:Selector><c:Selector Name="SystemName">Intel(r) AMT</c:Selector></c:SelectorSet></b:ReferenceParameters></g:ServiceProvided>`)
	s.WriteString(`<g:UserOfService><b:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</b:Address><b:ReferenceParameters><c:ResourceURI>` + cimBase + `CIM_ComputerSystem</c:ResourceURI><c:SelectorSet><c:Selector Name="CreationClassName">CIM_ComputerSystem</c:Selector><c:Selector Name="Name">ManagedSystem</c:Selector></c:SelectorSet></b:ReferenceParameters></g:UserOfService>`)
	s.WriteString(`</g:CIM_AssociatedPowerManagementService>`)
	return s.String()
}

func header(relatesTo, action, resource string) string {
	return `<a:Header><b:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</b:To>` +
		`<b:RelatesTo>` + escape(relatesTo) + `</b:RelatesTo>` +
		`<b:Action a:mustUnderstand="true">` + action + `</b:Action>` +
		`<b:MessageID>uuid:00000000-8086-8086-8086-` + msgSuffix() + `</b:MessageID>` +
		resourceElem(resource) + `</a:Header>`
}

func resourceElem(resource string) string {
	if resource == "" {
		return ""
	}
	return `<c:ResourceURI>` + resource + `</c:ResourceURI>`
}

func msgSuffix() string {
	var raw [6]byte
	rand.Read(raw[:])
	return fmt.Sprintf("%X", raw[:])
}

func wsAnswer(w http.ResponseWriter, req *Request, resource, action, body string) {
	w.Header().Set("Content-Type", soapContent)
	fmt.Fprintf(w, envelopeHeader, resource)
	w.Write([]byte(header(req.MessageID, action, resource) + `<a:Body>` + body + `</a:Body></a:Envelope>`))
}

// wsFault answers a SOAP 1.2 fault with HTTP 400, as AMT does.
func wsFault(w http.ResponseWriter, relatesTo, code, subcode, reason string) {
	w.Header().Set("Content-Type", soapContent)
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, envelopeHeader, resourceAPMS)
	w.Write([]byte(header(relatesTo, "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault", "") +
		`<a:Body><a:Fault><a:Code><a:Value>` + code + `</a:Value><a:Subcode><a:Value>` + subcode + `</a:Value></a:Subcode></a:Code>` +
		`<a:Reason><a:Text xml:lang="en-US">` + escape(reason) + `</a:Text></a:Reason><a:Detail></a:Detail></a:Fault></a:Body></a:Envelope>`))
}

// identify answers a WS-Management Identify (a request with no Action
// whose body is an Identify element) and reports whether it did.
func (b *BMC) identify(w http.ResponseWriter, body []byte) bool {
	req, err := ParseRequest(body)
	if err != nil || req.Action != "" || req.Method != "Identify" {
		return false
	}
	w.Header().Set("Content-Type", soapContent)
	w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><a:Envelope xmlns:a="http://www.w3.org/2003/05/soap-envelope" xmlns:b="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd" xmlns:c="http://schemas.dmtf.org/wbem/dash/1/dash.xsd"><a:Header></a:Header><a:Body><b:IdentifyResponse>` +
		`<b:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</b:ProtocolVersion><b:ProductVendor>Intel(r)</b:ProductVendor>` +
		`<b:ProductVersion>` + escape(b.opts.Version) + `</b:ProductVersion><c:DASHVersion>1.0.0</c:DASHVersion>` +
		`<b:SecurityProfiles><b:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/digest</b:SecurityProfileName></b:SecurityProfiles>` +
		`</b:IdentifyResponse></a:Body></a:Envelope>`))
	return true
}
