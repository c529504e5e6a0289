package resolve

import "strconv"

// profileHint rewrites the advice for a profile's service principal: its
// secret lives in azexec's keyring, so the fix for a wrong or expired one
// ends in `azexec profile rotate NAME`, not in an environment variable or a
// reset alone, which would leave the keyring holding the old value. Other
// hints, and those of identities that are not profiles, are kept.
func profileHint(hint string, id Identity) string {
	if id.Profile == "" {
		return hint
	}
	name, client := id.Profile, id.ClientID
	if client == "" {
		client = "CLIENT_ID"
	}
	switch hint {
	case aadHints["7000215"]:
		return "the client secret of profile " + strconv.Quote(name) + " is wrong (the secret's value, not its ID?): " +
			"store the right one with azexec profile rotate " + name
	case aadHints["7000222"]:
		return "the client secret of profile " + strconv.Quote(name) + " has expired: create one and store it with " +
			"az ad app credential reset --id " + client + " --append --query password -o tsv | azexec profile rotate " + name
	}
	return hint
}
