package tokens

import (
	"encoding/binary"
	"unicode/utf8"
)

// ---- rank table ----
//
// rankTable maps a token's bytes to its rank. It replaces a
// map[string]int for speed: almost every lookup is a piece or a pair of at
// most 8 bytes, which the table keeps inline in its slot (one cache line
// per probe, no string header to follow), while Go's map follows a string
// pointer per candidate key. It holds no pointers, so the garbage
// collector does not scan its ~200,000 keys on every cycle of the
// compression pipeline's allocations.
type rankTable struct {
	slots []rankSlot
	mask  uint64
	arena string   // the bytes of tokens longer than 8 bytes
	off   []uint32 // off[k]: where slot k's long token starts in arena
}

// rankSlot holds a token of n bytes (n == 0: empty slot). For n <= 8, key
// is the bytes themselves, little-endian; for longer tokens, key is their
// hash and the bytes are compared in the arena.
type rankSlot struct {
	key  uint64
	rank uint32
	n    uint32
}

func newRankTable(size int) *rankTable {
	n := 1 << 10
	for n < 2*size { // load factor at most 1/2 keeps linear probes short
		n <<= 1
	}
	return &rankTable{slots: make([]rankSlot, n), mask: uint64(n - 1), off: make([]uint32, n)}
}

// mix is a 64-bit finalizer (from SplitMix64): every input bit affects the
// low bits the table indexes with.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// keyOf returns the slot key of p (len(p) > 0).
func keyOf(p string) uint64 {
	n := len(p)
	if n == 8 {
		return binary.LittleEndian.Uint64([]byte(p))
	}
	if n > 8 {
		h := uint64(n)
		for q := p; len(q) > 8; q = q[8:] {
			h = mix(h ^ binary.LittleEndian.Uint64([]byte(q[:8])))
		}
		// The last chunk, read as the string's final 8 bytes.
		return mix(h ^ binary.LittleEndian.Uint64([]byte(p[n-8:])))
	}
	var k uint64
	for i := n - 1; i >= 0; i-- {
		k = k<<8 | uint64(p[i])
	}
	return k
}

func (t *rankTable) home(key uint64, n int) uint64 {
	return mix(key^uint64(n)<<56) & t.mask
}

// put sets p's rank; a repeated key takes the later rank, as a map would.
func (t *rankTable) put(p string, rank int, arena *[]byte) {
	key := keyOf(p)
	for i := t.home(key, len(p)); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.n == 0 {
			*s = rankSlot{key: key, rank: uint32(rank), n: uint32(len(p))}
			if len(p) > 8 {
				t.off[i] = uint32(len(*arena))
				*arena = append(*arena, p...)
			}
			return
		}
		if s.key == key && s.n == uint32(len(p)) {
			o := t.off[i]
			if len(p) <= 8 || string((*arena)[o:o+s.n]) == p {
				s.rank = uint32(rank)
				return
			}
		}
	}
}

func (t *rankTable) match(i uint64, key uint64, p string) bool {
	s := &t.slots[i]
	if s.key != key || s.n != uint32(len(p)) {
		return false
	}
	if len(p) <= 8 {
		return true
	}
	o := t.off[i]
	return t.arena[o:o+s.n] == p
}

// get returns p's rank, or noRank.
func (t *rankTable) get(p string) int {
	if len(p) == 0 {
		return noRank
	}
	key := keyOf(p)
	for i := t.home(key, len(p)); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.n == 0 {
			return noRank
		}
		if t.match(i, key, p) {
			return int(s.rank)
		}
	}
}

// ---- ASCII fast paths of the pre-tokenizers ----
//
// o200kFast and cl100kFast return the same piece end as o200kPiece and
// cl100kPiece (TestFastPiecesMatch, FuzzFastPieces), classifying ASCII
// bytes with one table lookup instead of Unicode range searches behind a
// function value. Whenever the answer depends on a non-ASCII character
// (a run that stops at one, or one at the start), they defer to the
// general scanner, which starts over.

const (
	cUp  = 1 << iota // A-Z
	cLo              // a-z
	cDig             // 0-9
	cSp              // ASCII White_Space: \t \n \v \f \r and space
	cNL              // \r \n
	cHi              // a byte of a multi-byte character
)

// asciiClass has 0 for ASCII punctuation: not space, letter or digit.
var asciiClass = func() (c [256]uint8) {
	for b := 'A'; b <= 'Z'; b++ {
		c[b] = cUp
	}
	for b := 'a'; b <= 'z'; b++ {
		c[b] = cLo
	}
	for b := '0'; b <= '9'; b++ {
		c[b] = cDig
	}
	for _, b := range "\t\n\v\f\r " {
		c[b] = cSp
	}
	c['\r'] |= cNL
	c['\n'] |= cNL
	for b := utf8.RuneSelf; b < 256; b++ {
		c[b] = cHi
	}
	return c
}()

func o200kFast(s string, i int) int {
	c := asciiClass[s[i]]
	switch {
	case c&(cUp|cLo) != 0:
		if j := o200kASCIIWord(s, i); j >= 0 {
			return j
		}
	case c == 0 || c == cSp:
		// A possible optional leading character of a word.
		if i+1 < len(s) {
			c2 := asciiClass[s[i+1]]
			if c2&cHi != 0 {
				break
			}
			if c2&(cUp|cLo) != 0 {
				if j := o200kASCIIWord(s, i+1); j >= 0 {
					return j
				}
				break
			}
		}
		return asciiPunctOrSpace(s, i, true)
	case c&cDig != 0:
		return numberEnd(s, i)
	case c&cNL != 0:
		return asciiSpaceEnd(s, i)
	}
	return o200kPiece(s, i)
}

// o200kASCIIWord is the end of an o200k word whose letters start at p, or
// -1 when a non-ASCII character could extend it. With ASCII letters only,
// [U]*[Lw]+ and [U]+[Lw]* both end after the uppercase run and the
// lowercase run that follows it (backtracking the uppercase run never
// finds a lowercase letter).
func o200kASCIIWord(s string, p int) int {
	u := p
	for u < len(s) && asciiClass[s[u]]&cUp != 0 {
		u++
	}
	e := u
	for e < len(s) && asciiClass[s[e]]&cLo != 0 {
		e++
	}
	if e < len(s) && s[e] >= utf8.RuneSelf {
		return -1
	}
	return withContraction(s, e)
}

func cl100kFast(s string, i int) int {
	c := asciiClass[s[i]]
	switch {
	case s[i] == '\'':
		// contractions come first in cl100k's pattern
	case c&(cUp|cLo) != 0:
		if j := asciiLetters(s, i); j >= 0 {
			return j
		}
	case c == 0 || c == cSp:
		if i+1 < len(s) {
			c2 := asciiClass[s[i+1]]
			if c2&cHi != 0 {
				break
			}
			if c2&(cUp|cLo) != 0 {
				if j := asciiLetters(s, i+1); j >= 0 {
					return j
				}
				break
			}
		}
		return asciiPunctOrSpace(s, i, false)
	case c&cDig != 0:
		return numberEnd(s, i)
	case c&cNL != 0:
		return asciiSpaceEnd(s, i)
	}
	return cl100kPiece(s, i)
}

// asciiLetters is the end of \p{L}+ from p, or -1 when it stops at a
// non-ASCII character.
func asciiLetters(s string, p int) int {
	for p < len(s) {
		c := asciiClass[s[p]]
		if c&(cUp|cLo) == 0 {
			if c&cHi != 0 {
				return -1
			}
			return p
		}
		p++
	}
	return p
}

// asciiPunctOrSpace is the piece at an ASCII punctuation or space
// character s[i] that does not start a word or number: the punctuation
// alternative, else the whitespace alternatives.
func asciiPunctOrSpace(s string, i int, slash bool) int {
	j := i
	if s[j] == ' ' && j+1 < len(s) && asciiClass[s[j+1]] == 0 {
		j++
	}
	if asciiClass[s[j]] != 0 {
		return asciiSpaceEnd(s, i)
	}
	for j < len(s) && asciiClass[s[j]] == 0 {
		j++
	}
	if j < len(s) && s[j] >= utf8.RuneSelf {
		return punctEnd(s, i, slash) // the run may go on
	}
	for j < len(s) && (s[j] == '\r' || s[j] == '\n' || (slash && s[j] == '/')) {
		j++
	}
	return j
}

// asciiSpaceEnd is spaceEnd when the whitespace run is ASCII.
func asciiSpaceEnd(s string, i int) int {
	j := i
	for j < len(s) && asciiClass[s[j]]&cSp != 0 {
		j++
	}
	if j < len(s) && s[j] >= utf8.RuneSelf {
		return spaceEnd(s, i) // U+0085, U+00A0… continue the run
	}
	return spaceRunEnd(s, i, j)
}
