package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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
		Flags: commandFlags(slices.Concat(identityGlobals, referenceGlobals, []string{"subscription"}),
			&cli.BoolFlag{Name: "json", Usage: "print JSON"}),
		Action: func(c *cli.Context) error {
			if err := noArgs(c, "azexec whoami"); err != nil {
				return err
			}
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
	Profile      string            `json:"profile,omitempty"`
	Keyring      string            `json:"keyring,omitempty"` // the backend that held the profile's secret
	Attempts     []resolve.Attempt `json:"attempts"`
	// References lists each Key Vault reference resolved, without values.
	References []resolvedRef `json:"references,omitempty"`
}

func runWhoami(c *cli.Context, io streams, o whoamiOptions) error {
	o.globals.Tokens = nil // whoami shows references, not --token values
	s, err := openSession(c.Context, io, o.globals, checkReferences(o.globals))
	if err != nil {
		return err
	}
	defer s.close()
	refs, err := fetchAll(c.Context, s, o.globals, true)
	if err != nil {
		return err
	}
	r := whoamiReport{
		Source: s.id.Source, Kind: s.id.Kind, TenantID: s.id.TenantID, ClientID: s.id.ClientID,
		ObjectID: s.id.ObjectID, User: s.id.User, Cloud: s.id.Cloud.Name, Authority: s.id.Cloud.AuthorityHost,
		ExpiresOn: s.id.ExpiresOn.UTC(), Subscription: s.id.Subscription, Attempts: s.attempts,
		Profile: s.id.Profile, Keyring: s.id.Keyring,
		References: refs,
	}
	if o.json {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printWhoami(io, r)
	printReferences(io, r.References)
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
	if def, ok := resolve.Clouds[r.Cloud]; !ok || !strings.EqualFold(def.AuthorityHost, r.Authority) {
		row("authority", r.Authority) // AZURE_AUTHORITY_HOST, an auth file's: not the cloud's own
	}
	row("token expires", r.ExpiresOn.Format(time.RFC3339)+" (in "+time.Until(r.ExpiresOn).Round(time.Minute).String()+")")
	row("subscription", r.Subscription)
	row("profile", r.Profile)
	row("keyring", r.Keyring)
	printAttempts(io.out, "sources tried:", r.Attempts)
}

// printReferences lists the Key Vault references resolved: variable,
// vault/secret/version and where the reference was written.
func printReferences(io streams, refs []resolvedRef) {
	if len(refs) == 0 {
		return
	}
	fmt.Fprintln(io.out, "key vault references:")
	for _, r := range refs {
		fmt.Fprintf(io.out, "  %-20s %s/%s/%s (%s)\n", r.Variable, r.Vault, r.Secret, r.Version, r.Origin)
	}
}
