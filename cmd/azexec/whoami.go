package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/resolve"
)

type whoamiOptions struct {
	globals globalOptions
	json    bool
}

func whoamiCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "whoami",
		Usage: "show which identity azexec resolves, and why each source was skipped",
		Description: "Resolves the identity exactly as `azexec -- COMMAND` would, acquiring one token to prove it,\n" +
			"and prints the winning source, tenant, client and object id, cloud, token expiry and\n" +
			"subscription, then every source tried with the reason it was skipped or failed.\n" +
			"It never prints a secret or a token.",
		Flags: append(globalFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}),
		Action: func(c *cli.Context) error {
			return runWhoami(c, io, whoamiOptions{globals: readGlobals(c), json: c.Bool("json")})
		},
	}
}

// whoamiReport is whoami's JSON form. It holds no secret: Identity's
// credential fields are left out on purpose.
type whoamiReport struct {
	Source       string            `json:"source"`
	Kind         string            `json:"kind"`
	TenantID     string            `json:"tenantId"`
	ClientID     string            `json:"clientId"`
	ObjectID     string            `json:"objectId,omitempty"`
	User         string            `json:"user,omitempty"`
	Cloud        string            `json:"cloud"`
	Authority    string            `json:"authority"`
	ExpiresOn    time.Time         `json:"expiresOn"`
	Subscription string            `json:"subscriptionId,omitempty"`
	Attempts     []resolve.Attempt `json:"attempts"`
}

func runWhoami(c *cli.Context, io streams, o whoamiOptions) error {
	s, err := openSession(c.Context, io, o.globals)
	if err != nil {
		return err
	}
	defer s.close()
	r := whoamiReport{
		Source: s.id.Source, Kind: s.id.Kind, TenantID: s.id.TenantID, ClientID: s.id.ClientID,
		ObjectID: s.id.ObjectID, User: s.id.User, Cloud: s.id.Cloud.Name, Authority: s.id.Cloud.AuthorityHost,
		ExpiresOn: s.id.ExpiresOn.UTC(), Subscription: s.id.Subscription, Attempts: s.attempts,
	}
	if o.json {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printWhoami(io, r)
	return nil
}

func printWhoami(io streams, r whoamiReport) {
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(io.out, "%-15s%s\n", k+":", v)
		}
	}
	row("source", r.Source+" ("+r.Kind+")")
	row("tenant", r.TenantID)
	row("client id", r.ClientID)
	row("object id", r.ObjectID)
	row("user", r.User)
	row("cloud", r.Cloud)
	row("token expires", r.ExpiresOn.Format(time.RFC3339)+" (in "+time.Until(r.ExpiresOn).Round(time.Minute).String()+")")
	row("subscription", r.Subscription)
	printAttempts(io.out, "sources tried:", r.Attempts)
}
