// Package keyring is azexec's fork of github.com/99designs/keyring v1.2.2
// (MIT licence, LICENSE in this directory): a uniform API over macOS
// Keychain, Windows Credential Manager, Secret Service, KWallet, pass, the
// Linux kernel keyring and an encrypted file.
//
// Why a fork: upstream connects to the D-Bus session bus in the package's
// init, for the Secret Service and KWallet backends, so every process that
// links it pays a bus connection before main, and on a machine without a
// session bus may even start dbus-launch. azexec runs in front of every
// command and most runs use no keyring at all, or the kernel keyring; here
// the D-Bus backends are registered unconditionally and reach the bus only
// when opened. Nothing else is changed, except that the kernel keyring
// backend can give an entry an expiry (Item.Expires), so that cached
// tokens leave the kernel keyring by themselves. Tests of upstream that
// need a desktop session are not carried over.
package keyring
