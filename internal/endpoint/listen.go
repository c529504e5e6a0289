package endpoint

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/azexec/azexec/internal/fail"
)

// DefaultListen is where the endpoint listens unless told otherwise:
// loopback only.
const DefaultListen = "127.0.0.1"

// ListenAddress works out the address to bind from --listen (an IP
// address, with or without a port) and --port (0: the port in --listen,
// or a free one). A wildcard address is refused: it would offer tokens to
// every network the machine is on. A name is refused too: it could
// resolve to anything, and the name containers use goes in --advertise.
func ListenAddress(listen string, port int) (netip.AddrPort, error) {
	if listen == "" {
		listen = DefaultListen
	}
	if port < 0 || port > 65535 {
		return netip.AddrPort{}, fail.New(fail.Usage, "--port %d is not a port number", port).
			WithHint("give a number from 1 to 65535, or 0 for a free port")
	}
	host, portText, hasPort := splitHostPort(listen)
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" {
		return netip.AddrPort{}, fail.New(fail.Usage, "--listen %q is not an IP address", listen).
			WithHint("give the address to bind, such as 127.0.0.1 or the docker bridge's gateway 172.17.0.1; the host name containers use goes in --advertise")
	}
	addr = addr.Unmap()
	if addr.IsUnspecified() {
		return netip.AddrPort{}, fail.New(fail.Usage, "--listen %q would serve tokens to every network this machine is on", listen).
			WithHint("bind the container bridge's own address instead, e.g. --listen 172.17.0.1 (ip -4 addr show docker0) --advertise host.docker.internal")
	}
	if hasPort {
		p, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			return netip.AddrPort{}, fail.New(fail.Usage, "--listen %q: bad port", listen).
				WithHint("write ADDRESS or ADDRESS:PORT, IPv6 as [ADDRESS]:PORT")
		}
		if port != 0 && int(p) != port {
			return netip.AddrPort{}, fail.New(fail.Usage, "--listen %q and --port %d name different ports", listen, port).
				WithHint("give the port once")
		}
		port = int(p)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// splitHostPort splits HOST:PORT or [V6]:PORT; a bare IPv6 address has no
// port.
func splitHostPort(s string) (host, port string, ok bool) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		return h, p, true
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), "", false
}

// Listen binds addr (from ListenAddress) for TCP.
func Listen(addr netip.AddrPort) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, fail.New(fail.Usage, "cannot listen on %s for the identity endpoint: %v", addr, unwrapOpError(err)).
			WithHint("pick another --port, or an address this machine has (ip addr)")
	}
	return ln, nil
}

// unwrapOpError drops the "listen tcp ADDR:" prefix the address already
// names.
func unwrapOpError(err error) error {
	if oe, ok := err.(*net.OpError); ok && oe.Err != nil {
		return oe.Err
	}
	return err
}
