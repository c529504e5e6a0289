package keyring

import (
	"fmt"

	"github.com/godbus/dbus"
)

// sessionBus connects to the D-Bus session bus, as upstream's init did for
// every process; here only a run that opens a D-Bus backend (secret-service,
// kwallet) pays for it, or starts dbus-launch where the session has no bus.
func sessionBus() error {
	if _, err := dbus.SessionBus(); err != nil {
		return fmt.Errorf("no D-Bus session bus: %w", err)
	}
	return nil
}
