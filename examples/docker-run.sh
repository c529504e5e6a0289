#!/bin/sh
# A container that uses the host's Azure identity without holding a secret.
# Runs as it is (tests/examples_test.go runs it with a stub docker); IMAGE
# stands for your own image, with azexec as its ENTRYPOINT (see Dockerfile).
#
# On the host, `azexec serve` resolves your identity (az login, a service
# principal, a profile...) and serves tokens on the docker bridge's gateway
# while docker runs. The container is given the endpoint's variables by
# name (-e NAME: docker copies the value from serve's environment, so
# nothing is on the command line) and a Key Vault reference, which the
# azexec inside resolves through the endpoint before it execs the app.
#
# Docker Desktop: leave out --listen (it forwards host.docker.internal to
# the host's loopback). Podman: --advertise host.containers.internal, which
# podman adds to /etc/hosts; see docs/containers.md.
set -eu
: "${AZEXEC:=azexec}" "${DOCKER:=docker}" "${IMAGE:=myapp:latest}"
: "${BRIDGE:=172.17.0.1}" # docker0's address: ip -4 addr show docker0
exec "$AZEXEC" serve --listen "$BRIDGE" --advertise host.docker.internal --allow-scope keyvault -- \
  $DOCKER run --rm --add-host host.docker.internal:host-gateway \
    -e IDENTITY_ENDPOINT -e IDENTITY_HEADER -e MSI_ENDPOINT \
    -e DATABASE_PASSWORD=keyvault://myvault.vault.azure.net/db-password \
    "$IMAGE"
