// A child that knows nothing of azexec: it uses the Azure SDK for
// JavaScript's DefaultAzureCredential, as an application would, and prints
// the length and a digest of one Key Vault secret (never the value).
// Usage: node readsecret.mjs VAULT_URL SECRET_NAME
import { DefaultAzureCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { createHash } from "node:crypto";

const [vaultUrl, name] = process.argv.slice(2);
const credential = new DefaultAzureCredential();
// The fake vault listens on 127.0.0.1, not *.vault.azure.net: relax the
// challenge-resource check, as emulators document.
const client = new SecretClient(vaultUrl, credential, { disableChallengeResourceVerification: true });
try {
  const secret = await client.getSecret(name);
  const digest = createHash("sha256").update(secret.value).digest("hex");
  console.log(`node-child: read ${name}: ${secret.value.length} characters, sha256 ${digest}`);
} catch (e) {
  console.error(`node-child: ${e.name}: ${e.message.split("\n")[0]}`);
  process.exit(1);
}
