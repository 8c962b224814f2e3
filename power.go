package pxelator

// PowerState is a machine's power state as the power packages (wol, amt,
// drac) report it.
type PowerState string

// Power states. Each power package maps its protocol's states onto these.
const (
	PowerOn      PowerState = "on"
	PowerOff     PowerState = "off"     // soft off (S5) or mechanical off
	PowerSleep   PowerState = "sleep"   // S1-S4
	PowerUnknown PowerState = "unknown" // the BMC does not say, or a wake-on-LAN target
)
