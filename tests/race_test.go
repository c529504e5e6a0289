//go:build race

package tests

// With -race, the binary under test is built with the race detector too.
func init() { raceEnabled = true }
