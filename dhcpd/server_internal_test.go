package dhcpd

import (
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// TestAuditNames: the audit's action and xid strings are the library's,
// without its allocations.
func TestAuditNames(t *testing.T) {
	for ty := range dhcpv4.MessageType(20) {
		if got, want := messageAction(ty), strings.ToLower(ty.String()); got != want {
			t.Errorf("messageAction(%d) = %q, want %q", ty, got, want)
		}
	}
	for _, x := range []dhcpv4.TransactionID{{}, {0x12, 0x34, 0xab, 0xcd}, {0xff, 0, 0xff, 0}} {
		if got, want := xidString(x), x.String(); got != want {
			t.Errorf("xidString(%v) = %q, want %q", x, got, want)
		}
	}
}
