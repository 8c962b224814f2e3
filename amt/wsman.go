package amt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/pxelator/pxelator"
)

// WS-Management names.
const (
	nsSOAP12     = "http://www.w3.org/2003/05/soap-envelope"
	nsAddressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSMan      = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsEnum       = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
	anonymous    = nsAddressing + "/role/anonymous"

	actionGet       = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
	actionEnumerate = nsEnum + "/Enumerate"
	actionPull      = nsEnum + "/Pull"

	// CIMBase is the prefix of the CIM resource URIs AMT serves.
	CIMBase = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	// ResourceAssociatedPowerManagementService is the resource that tells
	// the power state.
	ResourceAssociatedPowerManagementService = CIMBase + "CIM_AssociatedPowerManagementService"
	// ResourcePowerManagementService is the resource whose
	// RequestPowerStateChange method changes it.
	ResourcePowerManagementService = CIMBase + "CIM_PowerManagementService"

	actionRequestPowerStateChange = ResourcePowerManagementService + "/RequestPowerStateChange"
)

// CIM power states RequestPowerStateChange is asked for.
const (
	CIMOn      = 2
	CIMCycle   = 5  // power cycle (off soft)
	CIMOff     = 8  // power off (soft, S5): immediate, the OS is not asked
	CIMReset   = 10 // master bus reset
	CIMSoftOff = 12 // off soft graceful: the OS is asked to shut down
)

var cimNames = map[int]string{
	2: "on", 3: "light sleep", 4: "deep sleep", 5: "power cycle", 6: "off (hard)",
	7: "hibernate", 8: "off (soft)", 9: "power cycle (hard)", 10: "reset",
	11: "NMI", 12: "off (graceful)", 13: "off (hard, graceful)", 14: "reset (graceful)",
	15: "power cycle (graceful)", 16: "power cycle (hard, graceful)",
}

func cimArg(state int) string {
	if n := cimNames[state]; n != "" {
		return fmt.Sprintf("PowerState %d (%s)", state, n)
	}
	return fmt.Sprintf("PowerState %d", state)
}

// cimState maps a CIM power state onto the shared vocabulary.
func cimState(n int) pxelator.PowerState {
	switch n {
	case 2:
		return pxelator.PowerOn
	case 3, 4, 7:
		return pxelator.PowerSleep
	case 6, 8, 12, 13:
		return pxelator.PowerOff
	}
	return pxelator.PowerUnknown
}

// PowerInfo is what CIM_AssociatedPowerManagementService tells about the
// managed machine.
type PowerInfo struct {
	// PowerState is the CIM power state: 2 on, 3 light sleep, 4 deep
	// sleep, 6 off (hard), 7 hibernate, 8 off (soft), 13 off (graceful).
	PowerState int
	// Available lists the states RequestPowerStateChange accepts now.
	Available []int
}

// State maps the CIM power state onto the shared vocabulary.
func (p PowerInfo) State() pxelator.PowerState { return cimState(p.PowerState) }

func messageID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// wsmanRequest builds a WS-Management request envelope; body is XML.
func (c *Client) wsmanRequest(action, resourceURI, body string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(`<s:Envelope xmlns:s="` + nsSOAP12 + `" xmlns:a="` + nsAddressing + `" xmlns:w="` + nsWSMan + `">`)
	b.WriteString(`<s:Header>`)
	b.WriteString(`<a:Action s:mustUnderstand="true">` + escape(action) + `</a:Action>`)
	b.WriteString(`<a:To s:mustUnderstand="true">` + escape(c.base.String()+"/wsman") + `</a:To>`)
	b.WriteString(`<w:ResourceURI s:mustUnderstand="true">` + escape(resourceURI) + `</w:ResourceURI>`)
	b.WriteString(`<a:MessageID s:mustUnderstand="true">` + messageID() + `</a:MessageID>`)
	b.WriteString(`<a:ReplyTo><a:Address s:mustUnderstand="true">` + anonymous + `</a:Address></a:ReplyTo>`)
	b.WriteString(`<w:OperationTimeout>PT60S</w:OperationTimeout>`)
	b.WriteString(`</s:Header><s:Body>`)
	b.WriteString(body)
	b.WriteString(`</s:Body></s:Envelope>`)
	return []byte(b.String())
}

func (c *Client) wsman(ctx context.Context, action, resourceURI, body string) (*envelope, error) {
	return c.post(ctx, "/wsman", "", c.wsmanRequest(action, resourceURI, body))
}

// PowerInfo reads CIM_AssociatedPowerManagementService with a WS-Transfer
// Get. Firmware that answers the Get with a SOAP fault is asked again
// with an Enumerate and Pulls. It is not recorded in the audit; use
// PowerState for that.
func (c *Client) PowerInfo(ctx context.Context) (PowerInfo, error) {
	env, err := c.wsman(ctx, actionGet, ResourceAssociatedPowerManagementService, "")
	var f *Fault
	if errors.As(err, &f) {
		info, eerr := c.EnumeratePowerInfo(ctx)
		if eerr != nil {
			return info, fmt.Errorf("amt: Get answered %w; Enumerate: %w", err, eerr)
		}
		return info, nil
	}
	if err != nil {
		return PowerInfo{}, err
	}
	if env.Body.PowerService == nil {
		return PowerInfo{}, fmt.Errorf("amt: Get answer has no CIM_AssociatedPowerManagementService")
	}
	info, err := env.Body.PowerService.info()
	if err != nil {
		return info, fmt.Errorf("amt: Get CIM_AssociatedPowerManagementService: %w", err)
	}
	return info, nil
}

// maxPulls bounds the Pulls of one enumeration, so that a device that
// never ends the sequence cannot keep a client busy.
const maxPulls = 8

// EnumeratePowerInfo reads CIM_AssociatedPowerManagementService with an
// Enumerate followed by Pulls, the way some firmware wants it read.
func (c *Client) EnumeratePowerInfo(ctx context.Context) (PowerInfo, error) {
	env, err := c.wsman(ctx, actionEnumerate, ResourceAssociatedPowerManagementService, `<n:Enumerate xmlns:n="`+nsEnum+`"/>`)
	if err != nil {
		return PowerInfo{}, err
	}
	if env.Body.Enumerate == nil || strings.TrimSpace(env.Body.Enumerate.Context) == "" {
		return PowerInfo{}, fmt.Errorf("amt: Enumerate answer has no EnumerationContext")
	}
	ectx := strings.TrimSpace(env.Body.Enumerate.Context)
	for range maxPulls {
		env, err := c.wsman(ctx, actionPull, ResourceAssociatedPowerManagementService,
			`<n:Pull xmlns:n="`+nsEnum+`"><n:EnumerationContext>`+escape(ectx)+`</n:EnumerationContext><n:MaxElements>8</n:MaxElements></n:Pull>`)
		if err != nil {
			return PowerInfo{}, err
		}
		p := env.Body.Pull
		if p == nil {
			return PowerInfo{}, fmt.Errorf("amt: Pull answer has no PullResponse")
		}
		if len(p.Items.PowerServices) > 0 {
			info, err := p.Items.PowerServices[0].info()
			if err != nil {
				return info, fmt.Errorf("amt: Pull CIM_AssociatedPowerManagementService: %w", err)
			}
			return info, nil
		}
		if p.EndOfSequence != nil {
			break
		}
		if next := strings.TrimSpace(p.Context); next != "" {
			ectx = next
		}
	}
	return PowerInfo{}, fmt.Errorf("amt: enumeration of CIM_AssociatedPowerManagementService returned no instance")
}

// RequestPowerStateChange asks CIM_PowerManagementService for the CIM
// power state (CIMOn, CIMOff, ...). A non-zero ReturnValue is returned as
// a *ReturnValueError; 4096 (job started) counts as success.
func (c *Client) RequestPowerStateChange(ctx context.Context, state int) error {
	body := fmt.Sprintf(`<p:RequestPowerStateChange_INPUT xmlns:p="%s">`+
		`<p:PowerState>%d</p:PowerState>`+
		`<p:ManagedElement><a:Address>%s</a:Address><a:ReferenceParameters>`+
		`<w:ResourceURI>%sCIM_ComputerSystem</w:ResourceURI>`+
		`<w:SelectorSet><w:Selector Name="CreationClassName">CIM_ComputerSystem</w:Selector><w:Selector Name="Name">ManagedSystem</w:Selector></w:SelectorSet>`+
		`</a:ReferenceParameters></p:ManagedElement></p:RequestPowerStateChange_INPUT>`,
		ResourcePowerManagementService, state, anonymous, CIMBase)
	env, err := c.wsman(ctx, actionRequestPowerStateChange, ResourcePowerManagementService, body)
	if err != nil {
		return err
	}
	if env.Body.Output == nil || env.Body.Output.ReturnValue == nil {
		return fmt.Errorf("amt: RequestPowerStateChange(%s): answer has no ReturnValue", cimArg(state))
	}
	rv, err := parseUint(*env.Body.Output.ReturnValue, "ReturnValue")
	if err != nil {
		return fmt.Errorf("amt: RequestPowerStateChange(%s): %w", cimArg(state), err)
	}
	if rv != ReturnOK && rv != ReturnJobStarted {
		return &ReturnValueError{Method: "RequestPowerStateChange", Arg: cimArg(state), Code: int(rv)}
	}
	return nil
}

func (x *xmlPowerService) info() (PowerInfo, error) {
	var p PowerInfo
	n, err := parseUint(x.PowerState, "PowerState")
	if err != nil {
		return p, err
	}
	p.PowerState = int(n)
	for _, s := range x.Available {
		n, err := parseUint(s, "AvailableRequestedPowerStates")
		if err != nil {
			return p, err
		}
		p.Available = append(p.Available, int(n))
	}
	return p, nil
}
