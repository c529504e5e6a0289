package redact

import (
	"strconv"
	"strings"
)

// BodyLimit is how much of a server's error body azexec shows: enough for
// an error code and its message, too little to carry a whole echoed request.
const BodyLimit = 512

// Clip returns s cut to at most n bytes (plus a note of how much was cut).
// It cuts at a boundary (a space, a line end, & , ; or a quote) near n
// when there is one, so that a value is dropped whole rather than shown in
// part; it never splits a UTF-8 sequence.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	if i := strings.LastIndexAny(s[:cut], " \t\r\n&,;\""); i >= 0 && cut-i <= 128 {
		cut = i
	}
	return s[:cut] + " [" + strconv.Itoa(len(s)-cut) + " bytes cut]"
}

// ClipBody cuts every section of an Azure SDK message longer than n bytes
// (see Clip). The SDK's errors and log events put a response body between
// lines of dashes; a message without such lines is one section.
func ClipBody(msg string, n int) string {
	lines := strings.SplitAfter(msg, "\n")
	var out, section strings.Builder
	flush := func() {
		out.WriteString(clipSection(section.String(), n))
		section.Reset()
	}
	for _, l := range lines {
		if isSeparator(l) {
			flush()
			out.WriteString(l)
			continue
		}
		section.WriteString(l)
	}
	flush()
	return out.String()
}

// clipSection clips s, keeping its final line end if it had one.
func clipSection(s string, n int) string {
	if len(s) <= n {
		return s
	}
	body, nl := strings.CutSuffix(s, "\n")
	c := Clip(body, n)
	if nl {
		c += "\n"
	}
	return c
}

func isSeparator(line string) bool {
	t := strings.TrimSpace(line)
	return len(t) >= 20 && strings.Trim(t, "-") == ""
}
