package main

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// The flag package says only "parse error" for a value it cannot read, and
// urfave/cli words the same mistake in an AZEXEC_* variable differently.
// flagErrorText rewrites both into azexec's style, naming the option (or
// variable), the value given and what a value looks like: `--timeout 30`
// must say that a duration needs a unit.
var (
	badFlagValue = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-{1,2}([A-Za-z0-9-]+): `)
	badEnvValue  = regexp.MustCompile(`^could not parse "(.*)" as \w+ value from environment variable "(\w+)" for flag ([A-Za-z0-9-]+): `)
	// badEnvGeneric is the same mistake in a generic flag's variable (AZEXEC_WATCH).
	badEnvGeneric = regexp.MustCompile(`^could not parse "(.*)" from environment variable "(\w+)" as value for flag ([A-Za-z0-9-]+): `)
)

// flagErrorText is err's message as azexec prints it.
func flagErrorText(err error) string {
	msg := err.Error()
	var value, shown, name string
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		value, name = m[1], m[2]
		shown = "--" + name
	} else if m := badEnvValue.FindStringSubmatch(msg); m != nil {
		value, shown, name = m[1], m[2], m[3]
	} else if m := badEnvGeneric.FindStringSubmatch(msg); m != nil {
		value, shown, name = m[1], m[2], m[3]
	} else {
		return strings.Replace(msg, " -", " --", 1) // the flag package prints -flag
	}
	return "invalid " + shown + " " + strconv.Quote(value) + ": " + expectedValue(name, value)
}

// expectedValue says what the option takes, for the error line.
func expectedValue(name, value string) string {
	for _, f := range globalFlags() {
		if f.Names()[0] != name {
			continue
		}
		switch f.(type) {
		case *cli.DurationFlag:
			if _, err := strconv.ParseFloat(value, 64); err == nil {
				return "a duration needs a unit, e.g. " + value + "s or 2m"
			}
			if _, err := time.ParseDuration(value); err != nil {
				return "not a duration: write a number and a unit, e.g. 30s, 2m or 1m30s"
			}
		case *cli.IntFlag:
			return "not a whole number"
		case *cli.BoolFlag:
			return "not true or false"
		case watchFlag:
			return "give no value, or an interval such as 30s or 10m"
		}
	}
	return "not a valid value"
}
