// Package tests holds the end-to-end tests of azexec: they build the real
// binary once (TestMain) and run it with os/exec against the fake Azure of
// package fakeazure, in a clean, explicit environment (never the
// developer's: no inherited AZURE_* variable, no real az login).
//
// azexec's PATH is the test's own bin directory (its stubs) and a
// directory of links to plain tools (sh, env, cat...), never /usr/bin,
// where a user's az and azd live; HOME is the test's scratch directory.
// tests/hostile-machine.sh runs everything beside a logged-in az and a full
// ~/.azure to prove that neither is used or touched.
//
// They must run offline, inside the network namespace of tests/offline.sh
// (tests/run.sh does that): the managed-identity source probes IMDS at
// 169.254.169.254, and TestMain refuses to run when any network interface
// other than loopback is up.
//
//	cd /work/main && tests/offline.sh go test -race -count=1 ./tests/
//
// AZEXEC_TEST_BINARY=PATH tests that binary instead of building one.
package tests
