// Package mask hides known values in a stream of output: what a child
// prints passes through a Writer, which replaces every occurrence of a
// value, and of the forms a value commonly leaks in (Forms), by Marker.
//
// # Why a streaming matcher
//
// A child writes when it likes: a value may arrive split over two writes,
// or one byte at a time. Masking each write on its own (as azexec's log
// scrubber does) would let a split value through. So the Writer runs one
// Aho–Corasick automaton over the whole stream and holds back only the
// bytes that could still begin a value: exactly the longest tail of what
// it has seen that is the start of some form. Everything before that tail
// can no longer be part of a value and is written at once. Held bytes are
// released as soon as the next byte shows they cannot complete a value,
// on Flush and Close (the end of the stream), and, when the Writer has an
// idle time (an interactive terminal), once no byte has arrived for that
// long, so that a prompt without a newline still shows.
//
// What the idle release means for a value written slower than that: the
// bytes written before a pause longer than the idle time are shown as they
// are; the automaton keeps its place, so when the rest of the value then
// arrives and completes a form, the rest is replaced by Marker. A value
// printed one byte at a time with pauses longer than the idle time is
// therefore shown up to its last pause. Programs print a value in one
// write in practice; typed input echoed by a terminal is the usual case of
// slow output, and the user typing a value already knows it.
//
// Memory does not grow with the output: a Writer holds at most the longest
// form minus one byte, plus one read buffer. The automaton is a dense
// table of (states × byte classes) int32s, built once per set of values;
// 200 random 16–64 byte values take 13 to 25 MB, depending on how many
// distinct bytes they use.
//
// Values shorter than MinLength are not masked: they would garble ordinary
// output (a 3-letter value matches inside words). Callers warn about them
// (by name, never by value) with TooShort.
package mask
