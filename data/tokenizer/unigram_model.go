package tokenizer

import (
	"sort"
	"unicode/utf8"
)

// ugTrie is a byte trie over piece strings: node 0 is the root, whose
// children are found through a direct table; other nodes keep their
// children sorted by byte.
type ugTrie struct {
	root  [256]int32 // child of the root per byte (0 = none)
	first []int32    // node -> index of its first edge
	count []uint16   // node -> number of edges
	label []byte     // edge -> byte
	child []int32    // edge -> node
	value []int32    // node -> piece id ending here, or -1
}

// newUgTrie builds a trie of the pieces for which keep(id) is true; for a
// piece string given several times the last id wins.
func newUgTrie(pieces []string, keep func(id int) bool) *ugTrie {
	// Build with maps first, then flatten.
	type tmp struct {
		kids map[byte]int32
		val  int32
	}
	nodes := []tmp{{kids: map[byte]int32{}, val: -1}}
	for id, p := range pieces {
		if !keep(id) || p == "" {
			continue
		}
		n := int32(0)
		for i := 0; i < len(p); i++ {
			c, ok := nodes[n].kids[p[i]]
			if !ok {
				c = int32(len(nodes))
				nodes = append(nodes, tmp{kids: map[byte]int32{}, val: -1})
				nodes[n].kids[p[i]] = c
			}
			n = c
		}
		nodes[n].val = int32(id)
	}
	t := &ugTrie{
		first: make([]int32, len(nodes)),
		count: make([]uint16, len(nodes)),
		value: make([]int32, len(nodes)),
	}
	for i, nd := range nodes {
		t.value[i] = nd.val
		t.first[i] = int32(len(t.label))
		t.count[i] = uint16(len(nd.kids))
		keys := make([]int, 0, len(nd.kids))
		for b := range nd.kids {
			keys = append(keys, int(b))
		}
		sort.Ints(keys)
		for _, b := range keys {
			t.label = append(t.label, byte(b))
			t.child = append(t.child, nd.kids[byte(b)])
			if i == 0 {
				t.root[b] = nd.kids[byte(b)]
			}
		}
	}
	return t
}

// next returns the child of node n along byte c, or -1.
func (t *ugTrie) next(n int32, c byte) int32 {
	if n == 0 {
		if k := t.root[c]; k != 0 {
			return k
		}
		return -1
	}
	lo, end := int(t.first[n]), int(t.first[n])+int(t.count[n])
	hi := end
	for hi-lo > 8 {
		mid := (lo + hi) / 2
		if t.label[mid] < c {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for ; lo < end; lo++ {
		if t.label[lo] == c {
			return t.child[lo]
		}
		if t.label[lo] > c {
			break
		}
	}
	return -1
}

// ugSpan is one piece of a segmentation: bytes [start,end) of the input and
// the piece id (the unknown id for an unknown character).
type ugSpan struct {
	start, end int
	id         int
}

// ugLattice runs the optimized unigram Viterbi search of sentencepiece
// (unigram_model.cc EncodeOptimized) and of the Hugging Face Unigram model
// (encode_optimized), which are the same algorithm: best path ending at
// every byte position, a single-character unknown node (score min − 10)
// where no piece covers exactly the character, ties kept by the first
// candidate (strictly greater scores replace).
type ugLattice struct {
	trie     *ugTrie
	scores   []float64
	unkID    int
	unkScore float64
	// spm mode: float32 arithmetic as sentencepiece, unused pieces skipped,
	// user-defined pieces scored length*maxScore − 0.1.
	spm        bool
	types      []SPMPieceType
	maxScore32 float32
	scores32   []float32
}

type ugBest struct {
	score   float64
	score32 float32
	start   int
	id      int
}

// viterbi segments s; buf is reused scratch. It returns the spans in order.
func (l *ugLattice) viterbi(s string, buf []ugBest, dst []ugSpan) ([]ugSpan, []ugBest) {
	size := len(s)
	if size == 0 {
		return dst, buf
	}
	if cap(buf) < size+1 {
		buf = make([]ugBest, size+1)
	}
	best := buf[:size+1]
	for i := range best {
		best[i] = ugBest{start: -1, id: -1}
	}
	best[0].start = 0
	unk32 := float32(l.unkScore)
	for start := 0; start < size; {
		here := best[start]
		mblen := ugCharLen(s[start:], l.spm)
		hasSingle := false
		node := int32(0)
		for pos := start; pos < size; pos++ {
			node = l.trie.next(node, s[pos])
			if node < 0 {
				break
			}
			id := int(l.trie.value[node])
			if id < 0 {
				continue
			}
			end := pos + 1
			length := end - start
			tgt := &best[end]
			if l.spm {
				if l.types[id] == SPMUnused {
					continue
				}
				if l.types[id] == SPMUserDefined {
					cand := float64(length)*float64(l.maxScore32) - 0.1 + float64(here.score32)
					if tgt.start == -1 || cand > float64(tgt.score32) {
						tgt.score32, tgt.start, tgt.id = float32(cand), start, id
					}
				} else {
					cand := l.scores32[id] + here.score32
					if tgt.start == -1 || cand > tgt.score32 {
						tgt.score32, tgt.start, tgt.id = cand, start, id
					}
				}
			} else {
				cand := l.scores[id] + here.score
				if tgt.start == -1 || cand > tgt.score {
					tgt.score, tgt.start, tgt.id = cand, start, id
				}
			}
			if length == mblen {
				hasSingle = true
			}
		}
		if !hasSingle {
			tgt := &best[start+mblen]
			if l.spm {
				cand := unk32 + here.score32
				if tgt.start == -1 || cand > tgt.score32 {
					tgt.score32, tgt.start, tgt.id = cand, start, l.unkID
				}
			} else {
				cand := l.unkScore + here.score
				if tgt.start == -1 || cand > tgt.score {
					tgt.score, tgt.start, tgt.id = cand, start, l.unkID
				}
			}
		}
		start += mblen
	}
	// Backtrack.
	n0 := len(dst)
	for end := size; end > 0; {
		b := best[end]
		dst = append(dst, ugSpan{start: b.start, end: end, id: b.id})
		end = b.start
	}
	for i, j := n0, len(dst)-1; i < j; i, j = i+1, j-1 {
		dst[i], dst[j] = dst[j], dst[i]
	}
	return dst, buf
}

// ugCharLen is the byte length of the first character of s: sentencepiece's
// OneCharLen (from the lead byte, clipped to the input) in spm mode, the
// UTF-8 decoder's otherwise (the input is valid UTF-8 there).
func ugCharLen(s string, spm bool) int {
	if spm {
		n := int("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x02\x02\x03\x04"[s[0]>>4])
		if n > len(s) {
			n = len(s)
		}
		return n
	}
	_, n := utf8.DecodeRuneInString(s)
	return n
}
