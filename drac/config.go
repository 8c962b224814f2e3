package drac

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// Config configures a [Redfish] or [Legacy] client. The zero value is
// usable apart from the credentials.
type Config struct {
	Username string
	Password string

	// SystemID is the ComputerSystem's Id ("System.Embedded.1" on an
	// iDRAC). When empty, the only member of /redfish/v1/Systems is used.
	// Redfish only.
	SystemID string
	// BasicAuth selects HTTP Basic authentication instead of a session.
	// Redfish only.
	BasicAuth bool

	// InsecureSkipVerify accepts any TLS certificate, such as the
	// self-signed certificate an iDRAC ships with. Only used when
	// HTTPClient is nil. Prefer an HTTPClient that trusts the card's
	// certificate.
	InsecureSkipVerify bool
	// HTTPClient sends the requests; nil means a client of its own that
	// verifies certificates. It is copied: its CheckRedirect (and, for
	// Legacy, its Jar) are replaced, as redirects are never followed.
	HTTPClient *http.Client

	// Recorder, when not nil, records every power action and state
	// reading (never credentials or session tokens).
	Recorder audit.Recorder
	// MAC is the managed machine's hardware address, for audit records.
	MAC net.HardwareAddr

	// Logger receives debug logs of the sessions (never credentials or
	// session tokens); nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Machine attributes [NewRedfishFor] reads.
const (
	AttrAddress  = "drac.address"  // the iDRAC's address, as for NewRedfish; required
	AttrUsername = "drac.username" // the user name (default: cfg.Username)
	AttrPassword = "drac.password" // the password, a secret attribute (default: cfg.Password)
)

// NewRedfishFor returns a Redfish client for the iDRAC of machine m, from
// its attributes drac.address, drac.username and drac.password, which
// take the place of cfg's Username and Password when set; cfg supplies
// the rest. Audit records carry m's MAC.
func NewRedfishFor(m pxelator.Machine, cfg Config) (*Redfish, error) {
	addr := m.Get(AttrAddress)
	if addr == "" {
		return nil, fmt.Errorf("drac: machine %v has no %s", m.MAC, AttrAddress)
	}
	cfg.Username = cmp.Or(m.Get(AttrUsername), cfg.Username)
	cfg.Password = cmp.Or(m.Get(AttrPassword), cfg.Password)
	cfg.MAC = m.MAC
	return NewRedfish(addr, cfg)
}
