//go:build !linux

package profile

// keyctlPerm is unused off Linux: there is no kernel keyring backend.
var keyctlPerm uint32
