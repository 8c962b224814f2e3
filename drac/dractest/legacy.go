package dractest

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
)

func writeXML(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+body)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// serveWeb serves the DRAC 5 / iDRAC 6 web interface: login, the virtual
// console session, logout.
func (b *BMC) serveWeb(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/cgi-bin/webcgi/login":
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		rc := "0x140004"
		if b.credentials(r.PostForm.Get("user"), r.PostForm.Get("password")) {
			sid := newToken()
			b.mu.Lock()
			b.webSIDs[sid] = true
			b.logins++
			b.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true, Secure: r.TLS != nil})
			rc = "0x3000"
		} else {
			b.mu.Lock()
			b.refused++
			b.mu.Unlock()
		}
		// The shape of a captured DRAC 5 answer; HTTP 200 either way.
		writeXML(w, `<?xml-stylesheet type="text/xsl" href="/cgi/locale/login_en.xsl" media="screen"?><drac>`+"\n"+
			`<privilege racPrivilege="0" login="0" cfg="0" cfguser="0" clearlog="0" servercontrol="0" console="0" vmedia="0" testalert="0" debug="0" />`+"\n"+
			`<CARD_IP>emulated</CARD_IP><OEM>0</OEM><MSG>0x0</MSG><LANG>en</LANG>`+"\n"+
			`<LOGIN><RESP><RC>`+rc+`</RC><SID>0</SID><STATE>0x00000000</STATE><STATENAME>OK</STATENAME></RESP></LOGIN><SCLEnabled>0</SCLEnabled></drac>`)
	case "/cgi-bin/webcgi/vkvm":
		if !b.webSession(r) {
			// Reconstructed: the card drops an unknown session; a client
			// must log in again.
			b.mu.Lock()
			b.refused++
			b.mu.Unlock()
			http.Error(w, "session expired", http.StatusUnauthorized)
			return
		}
		b.mu.Lock()
		km, video, enc := b.kmPort, b.videoPort, b.encrypted
		b.mu.Unlock()
		// Reconstructed from public DRAC 5 viewer launchers, which read
		// these properties from the answer.
		writeXML(w, fmt.Sprintf(`<drac><object name="vkvm">`+
			`<property name="vKvmSessionId" type="string"><value>%s</value></property>`+
			`<property name="KMPortNumber" type="text"><value>%d</value></property>`+
			`<property name="VideoPortNumber" type="text"><value>%d</value></property>`+
			`<property name="EncryptionEnabled" type="boolean"><value>%t</value></property>`+
			`</object></drac>`, newToken()[:16], km, video, enc))
	case "/cgi-bin/webcgi/logout":
		if c, err := r.Cookie("sid"); err == nil {
			b.mu.Lock()
			delete(b.webSIDs, c.Value)
			b.mu.Unlock()
		}
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1})
		writeXML(w, `<drac><LOGOUT><RESP><RC>0x0</RC></RESP></LOGOUT></drac>`)
	default:
		http.NotFound(w, r)
	}
}

func (b *BMC) webSession(r *http.Request) bool {
	c, err := r.Cookie("sid")
	if err != nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.webSIDs[c.Value]
}

// serveRACADM serves remote RACADM: /cgi-bin/login, /cgi-bin/exec,
// /cgi-bin/logout, with XML bodies.
func (b *BMC) serveRACADM(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	switch r.URL.Path {
	case "/cgi-bin/login":
		var req struct {
			User     string `xml:"REQ>USERNAME"`
			Password string `xml:"REQ>PASSWORD"`
		}
		if xml.Unmarshal(body, &req) != nil || !b.credentials(req.User, req.Password) {
			b.mu.Lock()
			b.refused++
			b.mu.Unlock()
			// Reconstructed: a refused login has SID 0.
			writeXML(w, `<LOGIN><RESP><RC>0x140004</RC><SID>0</SID><STATE>0x00000000</STATE><STATENAME>BAD_LOGIN</STATENAME></RESP></LOGIN>`)
			return
		}
		sid := newToken()
		b.mu.Lock()
		b.racSIDs[sid] = true
		b.logins++
		b.mu.Unlock()
		writeXML(w, `<LOGIN><RESP><RC>0x0</RC><SID>`+sid+`</SID><STATE>0x00000000</STATE><STATENAME>OK</STATENAME></RESP></LOGIN>`)
	case "/cgi-bin/exec":
		c, err := r.Cookie("sid")
		b.mu.Lock()
		ok := err == nil && b.racSIDs[c.Value]
		if !ok {
			b.refused++
		}
		b.mu.Unlock()
		if !ok {
			// Reconstructed: an unknown session fails the request itself
			// (RC), not the command (CMDRC).
			writeXML(w, `<EXEC><RESP><RC>0x140004</RC><CMDRC>0x0</CMDRC><CMDOUTPUT></CMDOUTPUT></RESP></EXEC>`)
			return
		}
		var req struct {
			Cmd string `xml:"REQ>CMDINPUT"`
		}
		if xml.Unmarshal(body, &req) != nil {
			writeXML(w, `<EXEC><RESP><RC>0x2</RC><CMDRC>0x0</CMDRC><CMDOUTPUT></CMDOUTPUT></RESP></EXEC>`)
			return
		}
		code, out := b.racadm(strings.Fields(req.Cmd))
		writeXML(w, fmt.Sprintf(`<EXEC><RESP><RC>0x0</RC><CMDRC>0x%x</CMDRC><CMDOUTPUT>%s</CMDOUTPUT></RESP></EXEC>`, code, esc(out)))
	case "/cgi-bin/logout":
		if c, err := r.Cookie("sid"); err == nil {
			b.mu.Lock()
			delete(b.racSIDs, c.Value)
			b.mu.Unlock()
		}
		writeXML(w, `<LOGOUT><RESP><RC>0x0</RC></RESP></LOGOUT>`)
	default:
		http.NotFound(w, r)
	}
}

// racadm runs one command and returns its status and output. The output
// texts follow Dell's RACADM reference guide; the refusals are
// reconstructed.
func (b *BMC) racadm(args []string) (uint32, string) {
	if len(args) != 3 || args[0] != "racadm" || args[1] != "serveraction" {
		return 0x2, "ERROR: Invalid subcommand specified."
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch args[2] {
	case "powerstatus":
		if b.on {
			return 0, "Server power status: ON"
		}
		return 0, "Server power status: OFF"
	case "powerup", "powerdown", "graceshutdown", "powercycle", "hardreset":
	default:
		return 0x2, "ERROR: Invalid action specified."
	}
	switch b.transition(args[2]) {
	case errAlreadyOn:
		return 0x1, "ERROR: Server is already powered ON."
	case errAlreadyOff:
		return 0x1, "ERROR: Server is already powered OFF."
	case errPoweredOff:
		return 0x1, "ERROR: Unable to perform the requested operation. The server is powered OFF."
	}
	return 0, "Server power operation successful"
}
