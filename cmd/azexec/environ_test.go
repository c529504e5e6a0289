package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestProcessEnvironDropsLibraryVariables: a DBUS_SESSION_BUS_ADDRESS that
// appeared after start (as godbus sets it) is not handed on; other
// variables set later (as t.Setenv does) are.
func TestProcessEnvironDropsLibraryVariables(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc/self/environ")
	}
	initial, _ := os.ReadFile("/proc/self/environ")
	if strings.Contains(string(initial), "DBUS_SESSION_BUS_ADDRESS=") {
		t.Skip("the test process inherited DBUS_SESSION_BUS_ADDRESS")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/0/bus")
	t.Setenv("AZEXEC_TEST_LATE", "kept")
	env := processEnviron()
	if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") }) {
		t.Error("library-set DBUS_SESSION_BUS_ADDRESS reached the child's environment")
	}
	if !slices.Contains(env, "AZEXEC_TEST_LATE=kept") {
		t.Error("a variable set after start was dropped")
	}
}

func TestPublicName(t *testing.T) {
	for name, want := range map[string]bool{
		"AZURE_TENANT_ID": true, "AZURE_CLIENT_ID": true, "AZURE_AUTHORITY_HOST": true, "AZURE_CLIENT_CERTIFICATE_PATH": true,
		"AZURE_CLIENT_SECRET": false, "DATABASE_URL": false, "PGPASSWORD": false, "API_KEY": false,
	} {
		if publicName(name) != want {
			t.Errorf("publicName(%q) = %v", name, !want)
		}
	}
}
