package drac

import (
	"context"
	"net/netip"

	"github.com/pxelator/pxelator/audit"
)

// record sends one audit event for a power action or state reading of
// the BMC at host.
func (c Config) record(ctx context.Context, host, action string, fields map[string]any) {
	if c.Recorder == nil {
		return
	}
	e := audit.Event{Package: "drac", Action: action, MAC: c.MAC, Ident: host, Fields: fields}
	if ip, err := netip.ParseAddr(host); err == nil {
		e.IP = ip
		e.Ident = ""
	}
	audit.Record(ctx, c.Recorder, e)
}

// auditFields returns the fields of a power event: the protocol, the
// state or request, and the outcome.
func auditFields(protocol string, kv ...any) map[string]any {
	f := map[string]any{"protocol": protocol}
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		switch v := kv[i+1].(type) {
		case nil:
		case error:
			f[k] = v.Error()
		default:
			f[k] = v
		}
	}
	return f
}
