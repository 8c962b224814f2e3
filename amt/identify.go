package amt

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

const nsIdentity = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"

// Identity is what a WS-Management Identify answers.
type Identity struct {
	ProtocolVersion string // the WS-Management schema URI
	ProductVendor   string // "Intel(r)"
	ProductVersion  string // "AMT 11.8"
}

// AMTVersion returns the major and minor version of ProductVersion
// ("AMT 11.8" is 11, 8); ok is false when it is not of that form.
func (id Identity) AMTVersion() (major, minor int, ok bool) {
	v, found := strings.CutPrefix(strings.TrimSpace(id.ProductVersion), "AMT ")
	if !found {
		return 0, 0, false
	}
	maj, min, _ := strings.Cut(v, ".")
	major, err := strconv.Atoi(maj)
	if err != nil {
		return 0, 0, false
	}
	if min != "" {
		if minor, err = strconv.Atoi(min); err != nil {
			return 0, 0, false
		}
	}
	return major, minor, true
}

// Legacy reports whether the device predates WS-Management (AMT 2 to 5),
// so that a Client for it needs [Config.Legacy].
func (id Identity) Legacy() bool {
	major, _, ok := id.AMTVersion()
	return ok && major < 6
}

// Identify asks the device what it is with a WS-Management Identify,
// which AMT answers without authentication. A device that predates
// WS-Management answers with an error (HTTP 404 or a web page).
func (c *Client) Identify(ctx context.Context) (Identity, error) {
	body := `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="` + nsSOAP12 + `" xmlns:i="` + nsIdentity + `">` +
		`<s:Header/><s:Body><i:Identify/></s:Body></s:Envelope>`
	env, err := c.post(ctx, "/wsman", "", []byte(body))
	if err != nil {
		return Identity{}, err
	}
	r := env.Body.Identify
	if r == nil {
		return Identity{}, fmt.Errorf("amt: Identify answer has no IdentifyResponse")
	}
	return Identity{
		ProtocolVersion: strings.TrimSpace(r.ProtocolVersion),
		ProductVendor:   strings.TrimSpace(r.ProductVendor),
		ProductVersion:  strings.TrimSpace(r.ProductVersion),
	}, nil
}
