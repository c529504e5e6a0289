#!/bin/sh
# A dev server that follows secret rotation (illustrative: your own server
# and env file). .env.dev holds references, never secrets, for example:
#
#   DB_PASSWORD=keyvault://contoso-dev/db-password
#   API_KEY=@Microsoft.KeyVault(VaultName=contoso-dev;SecretName=api-key)
#   LEGACY_KEY=keyvault://contoso-dev/legacy-key/0123456789abcdef0123456789abcdef   # pinned: never watched
#
# Every minute azexec asks the vault whether db-password or api-key has a
# new current version. When one has, it resolves every reference again and,
# only if all resolve, restarts the server with the new values: SIGTERM, up
# to 20 seconds to drain, then SIGKILL, then the same command again. The
# server exiting on its own ends azexec with the server's status.
set -eu

exec azexec --env-file .env.dev --watch=1m --watch-grace 20s --log-level info -- npm run dev

# A server that rereads its configuration on SIGHUP needs no restart:
#   exec azexec --env-file .env.dev --watch=1m --watch-reload HUP -- ./server
# In npm's package.json, start the server with exec-style commands
# ("dev": "node server.js"), so the TERM azexec sends reaches node.
