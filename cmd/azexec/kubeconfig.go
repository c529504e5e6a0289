package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/providers"
)

// kubeconfigOptions are the options of `azexec kubeconfig`.
type kubeconfigOptions struct {
	file     string
	context  string
	serverID string
	command  string
	stdout   bool
}

// kubeconfigCommand is `azexec kubeconfig`, the counterpart of `kubelogin
// convert-kubeconfig`: the users of a kubeconfig that sign in to Entra ID
// are rewritten to run azexec as their exec plugin.
func kubeconfigCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:      "kubeconfig",
		Usage:     "rewrite a kubeconfig's Entra ID users to use azexec as kubectl's credential plugin",
		UsageText: "azexec kubeconfig [--kubeconfig FILE] [--context NAME] [--server-id ID] [--command PATH] [--stdout]",
		Description: "Every user of the kubeconfig that signs in to Entra ID (the legacy azure auth provider that\n" +
			"az aks get-credentials writes, an exec plugin running kubelogin, or azexec itself) gets an exec\n" +
			"block running `azexec token --resource SERVER_ID --format exec-credential`, so kubectl uses the\n" +
			"identity azexec resolves (az login, service principal, workload or managed identity, profile).\n" +
			"The server id is kept from the user (apiserver-id, --server-id), unless --server-id is given.\n" +
			"Clusters, contexts, other users and comments are kept. The file is rewritten in place, after a\n" +
			"copy to FILE" + providers.KubeconfigBackupSuffix + "; with --stdout it is printed instead.\n\n" +
			"EXAMPLES:\n" +
			"   az aks get-credentials -g rg -n cluster && azexec kubeconfig && kubectl get nodes\n" +
			"   azexec kubeconfig --context prod --stdout > prod.kubeconfig",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "kubeconfig", Usage: "the kubeconfig `FILE` (default: the first KUBECONFIG entry, else ~/.kube/config)"},
			&cli.StringFlag{Name: "context", Usage: "convert only the user of context `NAME`"},
			&cli.StringFlag{Name: "server-id", Usage: "the AKS server application `ID` (default: the one the user names; AKS: " + providers.AKSServerID + ")"},
			&cli.StringFlag{Name: "command", Value: "azexec", Usage: "the `PATH` kubectl runs (default: azexec, found on PATH)"},
			&cli.BoolFlag{Name: "stdout", Usage: "print the converted kubeconfig instead of rewriting the file"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fail.New(fail.Usage, "unexpected argument %q", c.Args().First()).
					WithHint("name the file with --kubeconfig FILE")
			}
			return runKubeconfig(io, kubeconfigOptions{file: c.String("kubeconfig"), context: c.String("context"),
				serverID: c.String("server-id"), command: c.String("command"), stdout: c.Bool("stdout")})
		},
	}
}

func runKubeconfig(io streams, o kubeconfigOptions) error {
	path, err := kubeconfigPath(o.file)
	if err != nil {
		return err
	}
	po := providers.KubeconfigOptions{Context: o.context, ServerID: o.serverID, Command: o.command}
	if o.stdout {
		data, err := os.ReadFile(path)
		if err != nil {
			return fail.New(fail.Usage, "cannot read kubeconfig %q", path).Wrap(err)
		}
		out, done, err := providers.ConvertKubeconfig(data, po)
		if err != nil {
			return err
		}
		reportConverted(io, done, path, "")
		_, err = io.out.Write(out)
		return err
	}
	backup, done, err := providers.ConvertKubeconfigFile(path, po)
	if err != nil {
		return err
	}
	reportConverted(io, done, path, backup)
	return nil
}

// reportConverted says on stderr what changed: user names and server ids,
// which are not secret.
func reportConverted(io streams, done []providers.ConvertedUser, path, backup string) {
	if len(done) == 0 {
		fmt.Fprintf(io.errOut, "azexec: no user of %s signs in to Entra ID; nothing converted\n", path)
		return
	}
	for _, u := range done {
		fmt.Fprintf(io.errOut, "azexec: user %q now runs azexec (server id %s)\n", u.Name, u.ServerID)
	}
	if backup != "" {
		fmt.Fprintf(io.errOut, "azexec: rewrote %s; the original is in %s\n", path, backup)
	}
}

// kubeconfigPath is the file kubectl would write: --kubeconfig, else the
// first KUBECONFIG entry, else ~/.kube/config.
func kubeconfigPath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if list := os.Getenv("KUBECONFIG"); list != "" {
		for _, p := range strings.Split(list, string(os.PathListSeparator)) {
			if p != "" {
				return p, nil
			}
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fail.New(fail.Usage, "no kubeconfig given and no home directory").
			WithHint("give the file with --kubeconfig FILE")
	}
	return filepath.Join(home, ".kube", "config"), nil
}
