package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/providers"
	"github.com/azexec/azexec/internal/webhook"
)

// webhookOptions are `azexec webhook`'s.
type webhookOptions struct {
	globals        globalOptions
	listen         string
	certFile       string
	keyFile        string
	image          string
	binaryInImage  string
	namespace      string
	excluded       []string
	registryTimout time.Duration
	tagTTL         time.Duration
	kubeAPI        string
	kubeTokenFile  string
	kubeCAFile     string
	acrHosts       []string
	grace          time.Duration
}

const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func webhookCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "webhook",
		Usage: "Kubernetes mutating admission webhook that makes azexec the entrypoint of opted-in pods",
		Description: "Serves admission.k8s.io/v1 AdmissionReviews over HTTPS: POST /mutate (pods annotated\n" +
			webhook.AnnotationInject + "=true), POST /mutate/namespace (pods of namespaces labelled " + webhook.LabelNamespaceInject + "=enabled),\n" +
			"GET /healthz and GET /readyz. A chosen container gets an in-memory emptyDir at " + webhook.MountPath + ", read-only,\n" +
			"an init container running `azexec install` fills it, and its command becomes\n" +
			"`" + webhook.WrapperPath + " -- COMMAND ARGS...`. A container without a command gets its image's\n" +
			"entrypoint from the registry (the pod's imagePullSecrets, or ACR through this process's identity),\n" +
			"cached by digest. Nothing secret is added to a pod. TERM stops it gracefully.\n\n" +
			"POD ANNOTATIONS:\n" +
			"   " + webhook.AnnotationInject + ": \"true\"|\"false\"   opt in (or out of a namespace that opted in)\n" +
			"   " + webhook.AnnotationContainers + ": \"a,b\"          wrap only these containers (default: all but init containers)\n" +
			"   " + webhook.AnnotationOnImageError + ": \"admit\"   admit unchanged, with a warning, if an image cannot be read\n\n" +
			"See docs/kubernetes.md and examples/kubernetes/.",
		Flags: append(groupFlags(identityFlags()),
			&cli.StringFlag{Name: "listen", Value: ":8443", EnvVars: []string{"AZEXEC_WEBHOOK_LISTEN"}, Usage: "HTTPS `ADDRESS` to serve on"},
			&cli.StringFlag{Name: "tls-cert-file", Value: "/etc/azexec-webhook/tls/tls.crt", EnvVars: []string{"AZEXEC_WEBHOOK_TLS_CERT_FILE"},
				Usage: "serving certificate `PEM` (reloaded when it changes, as cert-manager rotates it)"},
			&cli.StringFlag{Name: "tls-key-file", Value: "/etc/azexec-webhook/tls/tls.key", EnvVars: []string{"AZEXEC_WEBHOOK_TLS_KEY_FILE"},
				Usage: "serving key `PEM` (reloaded with the certificate)"},
			&cli.StringFlag{Name: "image", EnvVars: []string{"AZEXEC_WEBHOOK_IMAGE"}, Usage: "the azexec `IMAGE` the init container runs (required)"},
			&cli.StringFlag{Name: "binary-in-image", Value: "/azexec", EnvVars: []string{"AZEXEC_WEBHOOK_BINARY_IN_IMAGE"}, Usage: "the `PATH` of azexec inside --image"},
			&cli.StringFlag{Name: "namespace", EnvVars: []string{"AZEXEC_WEBHOOK_NAMESPACE"}, Usage: "the webhook's own `NAMESPACE`, never touched (set it from the downward API)"},
			&cli.StringSliceFlag{Name: "exclude-namespace", Value: cli.NewStringSlice("kube-system", "kube-public", "kube-node-lease"),
				EnvVars: []string{"AZEXEC_WEBHOOK_EXCLUDE_NAMESPACES"}, Usage: "`NAMESPACE` whose pods are never changed, whatever they ask (repeatable)"},
			&cli.DurationFlag{Name: "registry-timeout", Value: 5 * time.Second, EnvVars: []string{"AZEXEC_WEBHOOK_REGISTRY_TIMEOUT"},
				Usage: "bound on reading one image's config; keep it below the webhook's timeoutSeconds"},
			&cli.DurationFlag{Name: "tag-ttl", Value: time.Minute, EnvVars: []string{"AZEXEC_WEBHOOK_TAG_TTL"}, Usage: "how long a tag's digest is remembered"},
			&cli.StringFlag{Name: "kube-api", EnvVars: []string{"AZEXEC_WEBHOOK_KUBE_API"}, Usage: "API server `URL` for image pull secrets (default: in-cluster)"},
			&cli.StringFlag{Name: "kube-token-file", Value: serviceAccountDir + "/token", EnvVars: []string{"AZEXEC_WEBHOOK_KUBE_TOKEN_FILE"}, Usage: "bearer token `FILE` for --kube-api"},
			&cli.StringFlag{Name: "kube-ca-file", Value: serviceAccountDir + "/ca.crt", EnvVars: []string{"AZEXEC_WEBHOOK_KUBE_CA_FILE"}, Usage: "CA `FILE` of --kube-api"},
			&cli.StringSliceFlag{Name: "acr-host", EnvVars: []string{"AZEXEC_ACR_HOSTS"}, Usage: "also treat `HOST[:PORT]` as an Azure Container Registry (repeatable)"},
			&cli.DurationFlag{Name: "shutdown-grace", Value: 20 * time.Second, EnvVars: []string{"AZEXEC_WEBHOOK_SHUTDOWN_GRACE"}, Usage: "how long admissions in flight may finish after TERM"},
		),
		Subcommands: []*cli.Command{webhookCertsCommand(io)},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fail.New(fail.Usage, "unexpected argument %q", c.Args().First()).WithHint("azexec webhook --help")
			}
			kubeAPI := c.String("kube-api")
			if kubeAPI == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
				kubeAPI = "https://" + net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT"))
			}
			return runWebhook(c, io, webhookOptions{globals: readGlobals(c), listen: c.String("listen"),
				certFile: c.String("tls-cert-file"), keyFile: c.String("tls-key-file"), image: c.String("image"),
				binaryInImage: c.String("binary-in-image"), namespace: c.String("namespace"), excluded: c.StringSlice("exclude-namespace"),
				registryTimout: c.Duration("registry-timeout"), tagTTL: c.Duration("tag-ttl"), kubeAPI: kubeAPI,
				kubeTokenFile: c.String("kube-token-file"), kubeCAFile: c.String("kube-ca-file"), acrHosts: c.StringSlice("acr-host"),
				grace: c.Duration("shutdown-grace")})
		},
	}
}

func runWebhook(c *cli.Context, io streams, o webhookOptions) error {
	if o.image == "" {
		return fail.New(fail.Usage, "webhook needs the azexec image for its init container").
			WithHint("--image REGISTRY/azexec:TAG (AZEXEC_WEBHOOK_IMAGE)")
	}
	log, _, err := newLogger(io.errLog, o.globals.LogLevel, o.globals.LogFormat)
	if err != nil {
		return err
	}
	certs := &webhook.CertFiles{CertFile: o.certFile, KeyFile: o.keyFile}
	if err := certs.Load(); err != nil {
		return fail.New(fail.Usage, "%v", err).WithHint("mount the cert-manager Secret there, or make a pair with azexec webhook certs")
	}
	var secrets webhook.SecretReader
	if o.kubeAPI != "" {
		k, err := webhook.NewKubeAPI(o.kubeAPI, o.kubeTokenFile, o.kubeCAFile)
		if err != nil {
			return fail.New(fail.Usage, "%v", err).WithHint("--kube-ca-file names the API server's CA")
		}
		secrets = k
	} else {
		log.Warn("no API server configured: image pull secrets are not read (--kube-api)")
	}
	excluded := o.excluded
	if o.namespace != "" {
		excluded = append(excluded, o.namespace)
	}
	reg := &webhook.Registry{Keychain: webhook.NewKeychain(secrets, webhookACR(c.Context, io, o.globals, o.acrHosts)),
		Timeout: o.registryTimout, TagTTL: o.tagTTL}
	srv := &webhook.Server{Certs: certs, Log: log, ShutdownGrace: o.grace, Options: webhook.Options{
		Image: o.image, BinaryInImage: o.binaryInImage, ExcludedNamespaces: excluded, Entrypoints: reg}}
	l, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fail.New(fail.Usage, "cannot listen on %q: %v", o.listen, err)
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, os.Interrupt)
	defer stop()
	log.Info("serving admission reviews", "address", l.Addr().String(), "image", o.image, "excluded_namespaces", fmt.Sprint(excluded))
	return srv.Serve(ctx, l)
}

// webhookACR exchanges this process's identity for ACR credentials, as
// `azexec docker-credential` does: the identity is resolved at the first
// ACR pull, and again after a failure.
func webhookACR(ctx context.Context, io streams, g globalOptions, hosts []string) webhook.ACRAuth {
	var mu sync.Mutex
	var s *session
	return func(rctx context.Context, host string) (string, string, bool, error) {
		if !providers.IsRegistry(host, hosts) {
			return "", "", false, nil
		}
		mu.Lock()
		if s == nil {
			g.ProofScope = providers.ACRScope
			var err error
			if s, err = openSession(ctx, io, g); err != nil {
				s = nil
				mu.Unlock()
				return "", "", false, err
			}
		}
		cur := s
		mu.Unlock()
		tok, err := providers.Token(rctx, cur.id, providers.ACRScope, "")
		if err != nil {
			return "", "", false, err
		}
		cur.scrub.Add(tok.Token)
		refresh, err := providers.ExchangeACRToken(rctx, providers.NewACRPipeline(&policy.ClientOptions{Transport: cur.network.Transporter()}), host, cur.id.TenantID, tok.Token)
		if err != nil {
			return "", "", false, err
		}
		cur.scrub.Add(refresh)
		return providers.ACRUsername, refresh, true, nil
	}
}

// webhookCertsCommand is the fallback for clusters without cert-manager.
func webhookCertsCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "certs",
		Usage: "make a CA and a serving certificate for the webhook's Service, and print the caBundle",
		Description: "Writes ca.crt, tls.crt and tls.key (0600) into --out-dir (created 0700) for the names the\n" +
			"API server dials the Service by (SERVICE, SERVICE.NAMESPACE, SERVICE.NAMESPACE.svc, ...), and prints\n" +
			"the CA as the base64 caBundle of the MutatingWebhookConfiguration. The CA's key is never written:\n" +
			"to rotate, run it again. cert-manager is the better way (examples/kubernetes/certificate.yaml).\n\n" +
			"EXAMPLE:\n" +
			"   azexec webhook certs --service azexec-webhook --namespace azexec-system --out-dir ./tls\n" +
			"   kubectl -n azexec-system create secret tls azexec-webhook-tls --cert=tls/tls.crt --key=tls/tls.key",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "service", Value: "azexec-webhook", EnvVars: []string{"AZEXEC_WEBHOOK_SERVICE"}, Usage: "the webhook's Service `NAME`"},
			&cli.StringFlag{Name: "namespace", Value: "azexec-system", EnvVars: []string{"AZEXEC_WEBHOOK_NAMESPACE"}, Usage: "the Service's `NAMESPACE`"},
			&cli.StringSliceFlag{Name: "ip", EnvVars: []string{"AZEXEC_WEBHOOK_CERT_IPS"}, Usage: "also valid for `IP` (a webhook registered by url, e.g. 127.0.0.1 in tests)"},
			&cli.StringFlag{Name: "out-dir", EnvVars: []string{"AZEXEC_WEBHOOK_CERT_DIR"}, Usage: "`DIR` to write ca.crt, tls.crt and tls.key into (required)"},
			&cli.DurationFlag{Name: "validity", Value: 365 * 24 * time.Hour, EnvVars: []string{"AZEXEC_WEBHOOK_CERT_VALIDITY"}, Usage: "how long the pair is valid"},
		},
		Action: func(c *cli.Context) error {
			return runWebhookCerts(io, c.String("service"), c.String("namespace"), c.StringSlice("ip"), c.String("out-dir"), c.Duration("validity"))
		},
	}
}

func runWebhookCerts(io streams, service, namespace string, ipArgs []string, dir string, validity time.Duration) error {
	if dir == "" {
		return fail.New(fail.Usage, "webhook certs needs --out-dir").WithHint("azexec webhook certs --out-dir ./tls")
	}
	var ips []net.IP
	for _, a := range ipArgs {
		ip := net.ParseIP(a)
		if ip == nil {
			return fail.New(fail.Usage, "invalid --ip %q", a)
		}
		ips = append(ips, ip)
	}
	pair, err := webhook.NewServingPair(webhook.ServiceDNSNames(service, namespace), ips, validity)
	if err != nil {
		return fail.New(fail.Usage, "making the certificates: %v", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail.New(fail.Usage, "creating %q: %v", dir, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"ca.crt", pair.CACert}, {"tls.crt", pair.Cert}, {"tls.key", pair.Key}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o600); err != nil {
			return fail.New(fail.Usage, "writing %q: %v", filepath.Join(dir, f.name), err)
		}
	}
	_, err = fmt.Fprintln(io.out, base64.StdEncoding.EncodeToString(pair.CACert))
	return err
}
