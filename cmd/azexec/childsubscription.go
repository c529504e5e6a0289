package main

import (
	"os"

	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/providers"
)

// subscriptionForOtherModes completes the handover in the modes that do not
// hand over a credential (auto for an identity azexec holds no secret of,
// and none): there prepareHandover sets no subscription, yet a child that
// runs az, Terraform or an SDK sample still needs one.
//
//   - --subscription X (or AZEXEC_SUBSCRIPTION) gives X, in every mode: an
//     explicit option is never ignored.
//   - In auto mode with the Azure CLI's login, the CLI's default
//     subscription (az account show), read from azureProfile.json: what
//     the child's own az would use, handed to tools that only read
//     AZURE_SUBSCRIPTION_ID. No request is made for it: auto must stay as
//     fast as running COMMAND directly. AZURE_SUBSCRIPTION_ID already
//     set (process environment, env file) wins over it.
//
// With --arm, ARM_SUBSCRIPTION_ID gets the same value. The modes that do
// hand over the identity set both through setSubscription instead.
func subscriptionForOtherModes(s *session, g globalOptions, mode string) {
	if needsSubscription(mode) {
		return // prepareHandover has set it
	}
	sub := g.Subscription
	if sub == "" && s.id.Subscription != "" {
		return // AZURE_SUBSCRIPTION_ID, already in the child's environment
	}
	if sub == "" && mode == injectAuto && s.id.Source == "cli" {
		sub = providers.CLIDefaultSubscription(os.LookupEnv)
	}
	if sub == "" {
		return
	}
	s.id.Subscription = sub
	s.env.Set("AZURE_SUBSCRIPTION_ID", sub, inject.Origin{Kind: inject.OriginAzexec})
	if g.ARM {
		s.env.Set("ARM_SUBSCRIPTION_ID", sub, inject.Origin{Kind: inject.OriginAzexec})
	}
	s.log.Debug("subscription handed to the child", "mode", mode, "explicit", g.Subscription != "")
}
