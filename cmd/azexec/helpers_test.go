package main

import (
	"os"
	"testing"
)

// unsetForTest removes k for the rest of the test; t.Setenv has already
// registered the restore of its old value.
func unsetForTest(t *testing.T, k string) {
	t.Helper()
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
