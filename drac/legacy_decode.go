package drac

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/pxelator/pxelator"
)

// Return codes of the DRAC web interface login (/cgi-bin/webcgi/login).
const (
	rcLoginOK     = 0x3000
	rcLoginFailed = 0x140004
)

// maxDepth bounds the nesting of the XML documents a DRAC sends (they
// are three or four levels deep).
const maxDepth = 32

// xmlDoc is what the legacy decoders need from a DRAC XML document: the
// text of each leaf element by local name (first occurrence wins), and
// the values of <property name="..."><value>...</value></property>
// elements. Unknown elements are ignored.
type xmlDoc struct {
	root   string
	leaves map[string]string
	props  map[string]string
}

func (d *xmlDoc) leaf(name string) (string, bool) {
	v, ok := d.leaves[name]
	return strings.TrimSpace(v), ok
}

// scanXML reads b into an xmlDoc, by local names, namespaces ignored.
func scanXML(b []byte) (*xmlDoc, error) {
	d := &xmlDoc{leaves: make(map[string]string), props: make(map[string]string)}
	dec := xml.NewDecoder(bytes.NewReader(b))
	type frame struct {
		name     string
		prop     string // the name attribute of a <property>
		text     strings.Builder
		children int
	}
	var stack []*frame
	var prop string // the <property> being read
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: malformed XML: %w", ErrProtocol, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: XML nested deeper than %d", ErrProtocol, maxDepth)
			}
			if len(stack) == 0 {
				if d.root != "" {
					return nil, fmt.Errorf("%w: XML with two root elements", ErrProtocol)
				}
				d.root = t.Name.Local
			} else {
				stack[len(stack)-1].children++
			}
			f := &frame{name: t.Name.Local}
			if t.Name.Local == "property" {
				for _, a := range t.Attr {
					if a.Name.Local == "name" {
						f.prop = a.Value
						prop = a.Value
					}
				}
			}
			stack = append(stack, f)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.children > 0 {
				break
			}
			text := f.text.String()
			if _, ok := d.leaves[f.name]; !ok {
				d.leaves[f.name] = text
			}
			if f.name == "value" && prop != "" && len(stack) > 0 && stack[len(stack)-1].name == "property" {
				if _, ok := d.props[prop]; !ok {
					d.props[prop] = strings.TrimSpace(text)
				}
			}
			if f.name == "property" {
				prop = ""
			}
		}
	}
	if d.root == "" {
		return nil, fmt.Errorf("%w: no XML element", ErrProtocol)
	}
	return d, nil
}

// parseHex parses a DRAC return code such as "0x3000".
func parseHex(s string) (uint32, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "0x")
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: bad return code %q", ErrProtocol, clean(s))
	}
	return uint32(v), nil
}

// webLogin is the outcome of a web interface login.
type webLogin struct {
	// st2 is the CSRF token of iDRAC 7/8 (forwardUrl ...ST2=...), sent
	// back as the ST2 header; empty on DRAC 5/iDRAC 6.
	st2 string
}

// decodeWebLogin reads the answer to a web interface login. Both shapes
// are understood: DRAC 5/iDRAC 6 (/cgi-bin/webcgi/login:
// <drac>...<LOGIN><RESP><RC>0x3000</RC>...) and iDRAC 7/8 (/data/login:
// <root><status>ok</status><authResult>0</authResult><forwardUrl>...).
// Both answer HTTP 200 for a wrong password too.
func decodeWebLogin(b []byte) (webLogin, error) {
	d, err := scanXML(b)
	if err != nil {
		return webLogin{}, err
	}
	if rc, ok := d.leaf("RC"); ok {
		code, err := parseHex(rc)
		if err != nil {
			return webLogin{}, err
		}
		switch code {
		case rcLoginOK:
			return webLogin{}, nil
		case rcLoginFailed:
			return webLogin{}, fmt.Errorf("%w: login refused (RC 0x%x)", ErrUnauthorized, code)
		}
		return webLogin{}, fmt.Errorf("login failed with RC 0x%x", code)
	}
	if ar, ok := d.leaf("authResult"); ok {
		// iDRAC 7/8: 0 is success; other values (wrong password, account
		// locked, too many sessions) are refusals. Reconstructed from
		// public client code: only 0 is known for certain.
		if ar != "0" {
			return webLogin{}, fmt.Errorf("%w: login refused (authResult %s)", ErrUnauthorized, clean(ar))
		}
		fwd, _ := d.leaf("forwardUrl")
		var l webLogin
		_, q, _ := strings.Cut(fwd, "?")
		for _, kv := range strings.FieldsFunc(q, func(r rune) bool { return r == ',' || r == '&' }) {
			if v, ok := strings.CutPrefix(kv, "ST2="); ok {
				l.st2 = v
			}
		}
		return l, nil
	}
	return webLogin{}, fmt.Errorf("%w: login answer without RC or authResult (<%s>)", ErrProtocol, clean(d.root))
}

// decodeRACADMLogin reads the answer of /cgi-bin/login (remote RACADM):
// <LOGIN><RESP><RC>0x0</RC><SID>...</SID><STATENAME>OK</STATENAME>...
// A SID of 0 means the login was refused.
func decodeRACADMLogin(b []byte) (sid string, err error) {
	d, err := scanXML(b)
	if err != nil {
		return "", err
	}
	sid, ok := d.leaf("SID")
	if !ok {
		return "", fmt.Errorf("%w: RACADM login answer without SID (<%s>)", ErrProtocol, clean(d.root))
	}
	rc := "0x0"
	if v, ok := d.leaf("RC"); ok {
		rc = v
	}
	code, err := parseHex(rc)
	if err != nil {
		return "", err
	}
	if code != 0 || sid == "" || sid == "0" {
		state, _ := d.leaf("STATENAME")
		return "", fmt.Errorf("%w: RACADM login refused (RC 0x%x, %s)", ErrUnauthorized, code, clean(state))
	}
	return sid, nil
}

// errSession means the BMC no longer knows the session.
var errSession = errors.New("session expired")

// decodeExec reads the answer of /cgi-bin/exec:
// <EXEC><RESP><RC>0x0</RC><CMDRC>0x0</CMDRC><CMDOUTPUT>...</CMDOUTPUT></RESP></EXEC>.
// A non-zero RC is a failure of the session, not of the command
// (reconstructed from public remote RACADM clients, which log in again
// when it happens); CMDRC is the command's own status.
func decodeExec(b []byte) (cmdrc uint32, output string, err error) {
	d, err := scanXML(b)
	if err != nil {
		return 0, "", err
	}
	if rc, ok := d.leaf("RC"); ok {
		code, err := parseHex(rc)
		if err != nil {
			return 0, "", err
		}
		if code != 0 {
			return 0, "", fmt.Errorf("%w (RC 0x%x)", errSession, code)
		}
	}
	c, ok := d.leaf("CMDRC")
	if !ok {
		return 0, "", fmt.Errorf("%w: RACADM answer without CMDRC (<%s>)", ErrProtocol, clean(d.root))
	}
	if cmdrc, err = parseHex(c); err != nil {
		return 0, "", err
	}
	out, _ := d.leaf("CMDOUTPUT")
	return cmdrc, out, nil
}

// KVMSession is the virtual console session the web interface hands to
// its viewer (vkvm?state=1).
type KVMSession struct {
	ID                string // vKvmSessionId: the viewer's credential for this session
	KeyboardMousePort int    // KMPortNumber
	VideoPort         int    // VideoPortNumber
	Encrypted         bool   // EncryptionEnabled
}

// LogValue implements slog.LogValuer; the session id is left out.
func (s KVMSession) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("km_port", s.KeyboardMousePort),
		slog.Int("video_port", s.VideoPort),
		slog.Bool("encrypted", s.Encrypted),
	)
}

// decodeVKVM reads the virtual console properties:
// <property name="vKvmSessionId" type="string"><value>...</value></property>
// and likewise KMPortNumber, VideoPortNumber, EncryptionEnabled.
func decodeVKVM(b []byte) (*KVMSession, error) {
	d, err := scanXML(b)
	if err != nil {
		return nil, err
	}
	s := &KVMSession{ID: d.props["vKvmSessionId"]}
	if s.ID == "" {
		return nil, fmt.Errorf("%w: virtual console answer without vKvmSessionId (<%s>)", ErrProtocol, clean(d.root))
	}
	port := func(name string) (int, error) {
		v := d.props[name]
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return 0, fmt.Errorf("%w: virtual console %s %q is not a port", ErrProtocol, name, clean(v))
		}
		return p, nil
	}
	if s.KeyboardMousePort, err = port("KMPortNumber"); err != nil {
		return nil, err
	}
	if s.VideoPort, err = port("VideoPortNumber"); err != nil {
		return nil, err
	}
	switch strings.ToLower(d.props["EncryptionEnabled"]) {
	case "true", "1", "yes":
		s.Encrypted = true
	}
	return s, nil
}

// decodePowerStatus reads the output of "racadm serveraction
// powerstatus": "Server power status: ON" (or OFF).
func decodePowerStatus(out string) (pxelator.PowerState, bool) {
	_, v, ok := strings.Cut(strings.ToLower(out), "status:")
	if !ok {
		return pxelator.PowerUnknown, false
	}
	switch f := strings.Fields(v); {
	case len(f) == 0:
		return pxelator.PowerUnknown, false
	case f[0] == "on":
		return pxelator.PowerOn, true
	case f[0] == "off":
		return pxelator.PowerOff, true
	}
	return pxelator.PowerUnknown, false
}
