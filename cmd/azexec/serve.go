package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/endpoint"
	"github.com/azexec/azexec/internal/fail"
)

// serveOptions are serve's own flags.
type serveOptions struct {
	globals   globalOptions
	listen    string
	port      int
	advertise string
	print     string
}

// endpointPlace is where the identity endpoint listens, the host name
// clients are told, and whether its variables are printed (and where).
type endpointPlace struct {
	listener  net.Listener
	advertise string
	print     string
	out       io.Writer
}

// printFormats are the values of --print.
var printFormats = []string{"env", "docker", "json"}

const serveDescription = `Resolves the identity exactly as azexec -- COMMAND does (every source, --profile,
--cloud), then serves tokens for it over the managed identity protocols, so that
containers use Azure without holding a secret. Every Azure SDK's
DefaultAzureCredential and ManagedIdentityCredential, az login --identity, and older
clients that know only MSI_ENDPOINT get tokens from it.

Only callers holding the run's secret get a token: a 256-bit value made for each run,
which travels only through COMMAND's environment, or through --print when asked.
It is never written to a file and never logged.

WITH COMMAND (azexec serve [options] -- COMMAND [ARGS...]): COMMAND gets IDENTITY_ENDPOINT,
IDENTITY_HEADER, MSI_ENDPOINT and MSI_SECRET, and passes them on to its containers by name;
azexec serves until COMMAND exits, forwarding signals to it, and exits with its status.
Without COMMAND it prints where it listens on stderr and serves until SIGINT or SIGTERM.

LISTENING: 127.0.0.1 on a free port unless --listen and --port say otherwise. A container
on a bridge network reaches the host through the bridge's gateway: --listen that address
and --advertise the name the container knows it by. 0.0.0.0 and :: are refused: they would
offer tokens to every network this machine is on.

EXAMPLES:
   azexec serve --advertise localhost -- docker run --network host \
       -e IDENTITY_ENDPOINT -e IDENTITY_HEADER IMAGE
   azexec serve --listen 172.17.0.1 --advertise host.docker.internal -- docker run \
       --add-host host.docker.internal:host-gateway -e IDENTITY_ENDPOINT -e IDENTITY_HEADER IMAGE
   azexec serve --listen 172.17.0.1 --advertise host.docker.internal --port 8765 --print env
   azexec serve --allow-scope keyvault -- docker compose up
`

func serveCommand(io streams, command []string, hasCommand bool) *cli.Command {
	return &cli.Command{
		Name:        "serve",
		Usage:       "serve the identity's tokens to containers over the managed identity protocols",
		UsageText:   "azexec serve [options] [-- COMMAND [ARGS...]]",
		Description: serveDescription,
		Flags: commandFlags(slices.Concat(identityGlobals, referenceGlobals, []string{"allow-scope", "token", "subscription"}),
			&cli.StringFlag{Name: "listen", Value: endpoint.DefaultListen, EnvVars: []string{"AZEXEC_LISTEN"},
				Usage: "listen on `ADDRESS` (an IP address, with or without :PORT), such as a docker bridge's gateway 172.17.0.1"},
			&cli.IntFlag{Name: "port", EnvVars: []string{"AZEXEC_PORT"}, DefaultText: "a free one",
				Usage: "listen on `PORT`"},
			&cli.StringFlag{Name: "advertise", EnvVars: []string{"AZEXEC_ADVERTISE"},
				Usage: "the `HOST` name clients reach azexec by, put in the endpoint URLs (host.docker.internal, host.containers.internal; default: the --listen address); requests naming another host are refused"},
			&cli.StringFlag{Name: "print", EnvVars: []string{"AZEXEC_PRINT"},
				Usage: "print the variables a client needs, its secret included, on stdout as `FORMAT`: env (NAME=VALUE lines, for docker --env-file), docker (-e NAME=VALUE arguments) or json"},
		),
		Action: func(c *cli.Context) error {
			if err := noArgs(c, "azexec serve"); err != nil {
				return err
			}
			o := serveOptions{globals: readGlobals(c), listen: c.String("listen"), port: c.Int("port"),
				advertise: c.String("advertise"), print: c.String("print")}
			return runServe(c.Context, io, o, command, hasCommand)
		},
	}
}

// runServe checks everything that needs no network, binds the listener
// (so that a taken port fails before any sign-in), then serves: for
// COMMAND's lifetime as the wrapper with --inject endpoint, or until a
// signal.
func runServe(ctx context.Context, io streams, o serveOptions, command []string, hasCommand bool) error {
	g, err := servePlan(o, hasCommand, len(command))
	if err != nil {
		return err
	}
	addr, err := endpoint.ListenAddress(o.listen, o.port)
	if err != nil {
		return err
	}
	ln, err := endpoint.Listen(addr)
	if err != nil {
		return err
	}
	defer ln.Close() // the server closes it; this covers a run that never started one
	g.endpoint = &endpointPlace{listener: ln, advertise: o.advertise, print: o.print, out: io.out}
	if hasCommand {
		return runExec(ctx, io, g, command)
	}
	return serveUntilSignal(ctx, io, g)
}

// servePlan checks serve's flags and returns the global options the run
// uses: the endpoint as the injection mode, and supervision, since the
// server must outlive COMMAND's start.
func servePlan(o serveOptions, hasCommand bool, commandLen int) (globalOptions, error) {
	g := o.globals
	if o.print != "" && !slices.Contains(printFormats, o.print) {
		return g, fail.New(fail.Usage, "unknown --print format %q", o.print).
			WithHint("use one of: %s", strings.Join(printFormats, ", "))
	}
	if o.advertise != "" && !validHostName(o.advertise) {
		return g, fail.New(fail.Usage, "--advertise %q is not a host name", o.advertise).
			WithHint("give the name (or address) containers reach this machine by, without scheme or port, such as host.docker.internal")
	}
	if g.InjectSet && g.Inject != injectEndpoint {
		return g, fail.New(fail.Usage, "azexec serve hands COMMAND the identity endpoint, but --inject is %q", g.Inject).
			WithHint("drop --inject; for another mode run azexec --inject %s -- COMMAND", g.Inject)
	}
	if hasCommand && commandLen == 0 {
		return g, fail.New(fail.Usage, "no command after --").
			WithHint("azexec serve [options] -- COMMAND [ARGS...], or leave out -- to serve until interrupted")
	}
	if !hasCommand && len(g.Tokens) > 0 {
		return g, fail.New(fail.Usage, "--token gives COMMAND a token, but serve has no COMMAND").
			WithHint("add -- COMMAND, or let clients ask the endpoint for the token")
	}
	g.Inject, g.InjectSet, g.Supervise = injectEndpoint, true, true
	return g, nil
}

// validHostName accepts a DNS name or an IP address, as it may stand in a
// URL's host.
func validHostName(h string) bool {
	if net.ParseIP(strings.Trim(h, "[]")) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// serveUntilSignal resolves the identity and serves its tokens until
// SIGINT or SIGTERM. A signal during the sign-in stops azexec as it stops
// the wrapper (interrupt.go).
func serveUntilSignal(ctx context.Context, io streams, g globalOptions) error {
	ctx, intr := watchInterrupts(ctx)
	io.intr = intr
	defer intr.handOff()
	intr.setPhase("resolving the identity")
	if err := checkInjectMode(g); err != nil {
		return err
	}
	s, err := openSession(ctx, io, g)
	if err != nil {
		return err
	}
	defer s.close()
	// From here INT and TERM stop the server cleanly: listen for them
	// before the sign-in's watcher lets go, so that none falls between
	// the two, and before --print tells anyone the server is up.
	stop, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	if err := intr.handOff(); err != nil {
		return err
	}
	// The variables are printed last, once the server says where it is.
	place := *g.endpoint
	g.endpoint = &endpointPlace{listener: place.listener, advertise: place.advertise}
	e, err := startEndpoint(s, g)
	if err != nil {
		return err
	}
	defer e.Close()
	fmt.Fprintf(io.errLog, "azexec: serving tokens for %s (%s, client %s) at %s until SIGINT or SIGTERM\n",
		s.id.Source, s.id.Kind, s.id.ClientID, e.URL())
	if place.print == "" {
		fmt.Fprintf(io.errLog, "azexec: the secret is not shown; give clients their variables with azexec serve -- COMMAND, or --print env|docker|json\n")
	} else if err := printEndpoint(place.out, place.print, e.Vars()); err != nil {
		return err
	}
	<-stop.Done()
	s.log.Info("stopping the identity endpoint")
	return nil
}

// printEndpoint writes the endpoint's variables, secret included, in
// format: the user asked for it with --print.
func printEndpoint(w io.Writer, format string, vars []endpoint.Var) error {
	var err error
	switch format {
	case "env":
		for _, v := range vars {
			if _, err = fmt.Fprintf(w, "%s=%s\n", v.Name, v.Value); err != nil {
				break
			}
		}
	case "docker":
		args := make([]string, 0, 2*len(vars))
		for _, v := range vars {
			args = append(args, "-e", v.Name+"="+v.Value)
		}
		_, err = fmt.Fprintln(w, strings.Join(args, " "))
	case "json":
		m := make(map[string]string, len(vars))
		for _, v := range vars {
			m[v.Name] = v.Value
		}
		err = json.NewEncoder(w).Encode(m)
	}
	if err != nil {
		return fail.New(fail.Usage, "cannot print the endpoint's variables").Wrap(err)
	}
	return nil
}
