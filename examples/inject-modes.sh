#!/bin/sh
# Illustrative: the programs named (node server.js, terraform, psql, ...) stand for your own.
# How COMMAND can receive the identity, one line per tool. Each works with any
# identity the chain resolves unless noted.

# An app using any Azure SDK's DefaultAzureCredential, without a secret in
# its environment: it gets tokens from azexec's local identity endpoint.
azexec --inject endpoint -- node server.js

# The same, but the app may only get Key Vault and Storage tokens.
azexec --inject endpoint --allow-scope keyvault --allow-scope storage -- python app.py

# Terraform's azurerm provider (service principal): ARM_* variables.
azexec --inject env --arm -- terraform plan

# A legacy SDK library reading AZURE_AUTH_LOCATION (service principal): the
# file exists only in memory, as /dev/fd/N.
azexec --inject auth-file -- python legacy_script.py

# psql with an Entra token as its password, and nothing else.
azexec --inject none --token PGPASSWORD=ossrdbms -- \
  psql "host=mydb.postgres.database.azure.com user=me@contoso.com dbname=app sslmode=require"

# curl against Resource Manager. The header goes through stdin (printf is a
# shell builtin), so the token never appears in curl's argv.
azexec --inject none --token TOKEN=arm -- \
  sh -c 'printf "Authorization: Bearer %s\n" "$TOKEN" | curl -s -H @- "https://management.azure.com/subscriptions?api-version=2022-12-01"'
