package mask

// automaton is an Aho–Corasick automaton compiled into a dense DFA over
// byte classes: one table lookup per byte of output, whatever the number
// of patterns. It is immutable once built, so Writers share it without
// locks; adding values builds a new one.
//
// States are numbered by their row's offset in delta (state × stride), so
// the hot loop needs no multiplication. A transition into a state that
// ends a pattern is stored as its bitwise complement (negative), so the
// loop tests one sign bit per byte.
type automaton struct {
	class  [256]byte // byte → class; class 0 holds every byte no pattern uses
	stride int32     // number of classes
	delta  []int32   // [state offset + class] → next state offset, ^offset if it matches
	// depth is the length of the longest pattern prefix a state stands
	// for: how many bytes the Writer must hold. match is the length of the
	// longest pattern ending there (0 for none). Both by state index
	// (offset / stride).
	depth []int32
	match []int32
}

// compile builds the automaton of patterns (each non-empty).
func compile(patterns []string) *automaton {
	a := &automaton{}
	used := [256]bool{}
	size := 1
	for _, p := range patterns {
		size += len(p)
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	a.stride = 1
	for b := 0; b < 256; b++ {
		if used[b] {
			a.class[b] = byte(a.stride)
			a.stride++
		}
	}
	stride := int(a.stride)
	// The trie, in the final table: -1 is "no edge" until the failure
	// links fill it in.
	delta := make([]int32, size*stride)
	for i := range delta {
		delta[i] = -1
	}
	depth := make([]int32, 1, size)
	match := make([]int32, 1, size)
	for _, p := range patterns {
		s := 0
		for i := 0; i < len(p); i++ {
			c := int(a.class[p[i]])
			next := delta[s*stride+c]
			if next < 0 {
				next = int32(len(depth))
				delta[s*stride+c] = next
				depth = append(depth, int32(i+1))
				match = append(match, 0)
			}
			s = int(next)
		}
		match[s] = int32(len(p))
	}
	n := len(depth)
	delta = delta[:n*stride]
	// Breadth first: a state's failure state is shallower, so its row is
	// complete when the state's is filled in.
	fail := make([]int32, n)
	queue := make([]int32, 0, n)
	for c := 0; c < stride; c++ {
		if next := delta[c]; next < 0 {
			delta[c] = 0
		} else {
			fail[next] = 0
			queue = append(queue, next)
		}
	}
	for head := 0; head < len(queue); head++ {
		s := queue[head]
		f := fail[s]
		if match[f] > match[s] {
			match[s] = match[f] // a longer pattern always wins; a suffix is inside it
		}
		row, frow := int(s)*stride, int(f)*stride
		for c := 0; c < stride; c++ {
			if next := delta[row+c]; next < 0 {
				delta[row+c] = delta[frow+c]
			} else {
				fail[next] = delta[frow+c]
				queue = append(queue, next)
			}
		}
	}
	bfs := queue
	// Renumber the states breadth first, so that the shallow states, where
	// ordinary output keeps the automaton, share cache lines; state
	// numbers become row offsets, and matching targets are complemented.
	order := append([]int32{0}, bfs...)
	rank := make([]int32, n)
	for i, s := range order {
		rank[s] = int32(i)
	}
	out := make([]int32, len(delta))
	d2, m2 := make([]int32, n), make([]int32, n)
	for i, s := range order {
		d2[i], m2[i] = depth[s], match[s]
		for c := 0; c < stride; c++ {
			next := delta[int(s)*stride+c]
			off := rank[next] * a.stride
			if match[next] > 0 {
				off = ^off
			}
			out[i*stride+c] = off
		}
	}
	delta, depth, match = out, d2, m2
	a.delta, a.depth, a.match = delta, depth, match
	return a
}
