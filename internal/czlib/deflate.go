package czlib

import "hash/adler32"

// Parameters of C zlib's default stream (windowBits 15, memLevel 8) and
// of its level 6 entry in the configuration table.
const (
	windowBits = 15
	wSize      = 1 << windowBits // one half of the window
	wMask      = wSize - 1
	windowSize = 2 * wSize

	memLevel  = 8
	hashBits  = memLevel + 7
	hashSize  = 1 << hashBits
	hashMask  = hashSize - 1
	hashShift = (hashBits + minMatch - 1) / minMatch

	minMatch     = 3
	maxMatch     = 258
	minLookahead = maxMatch + minMatch + 1
	maxDist      = wSize - minLookahead // farthest match C zlib looks for
	winInit      = maxMatch             // bytes zeroed past the data

	// litBufSize is C zlib's symbol buffer size; a block is flushed when
	// it holds one symbol less.
	litBufSize = 1 << (memLevel + 6)
	symEnd     = litBufSize - 1

	tooFar = 4096 // three-byte matches farther than this are literals

	goodLength = 8   // chains are cut to a quarter past this match length
	maxLazy    = 16  // no lazy search once the current match is this long
	niceLength = 128 // a search stops at a match this long
	maxChain   = 128 // hash chain links followed per search

	// zlib header for deflate, 32 KiB window, level 6 (FLEVEL 2).
	header0, header1 = 0x78, 0x9c
)

// Compress returns data compressed into a zlib stream exactly as C zlib
// 1.2.11–1.3.1 does at its defaults (Python's zlib.compress(data)). The
// returned slice is newly allocated and owned by the caller.
func Compress(data []byte) []byte {
	d := newDeflater(data, true)
	d.run()
	return d.bw.out
}

// CompressedLen returns len(Compress(data)) without keeping the output.
func CompressedLen(data []byte) int {
	d := newDeflater(data, false)
	d.run()
	return d.bw.size
}

// deflater is one C zlib deflate stream at level 6 fed all of its input
// at once. Positions are indexes into window; 0 doubles as "no
// position" in head and prev, as in C zlib, which therefore never
// matches against window index 0.
type deflater struct {
	in  []byte // input not yet copied into the window
	all []byte

	window [windowSize]byte
	head   [hashSize]uint16 // most recent position per hash
	prev   [wSize]uint16    // previous position with the same hash, by position&wMask
	insH   uint32           // rolling hash of the next three bytes to insert

	strstart   int // current position
	lookahead  int // valid bytes from strstart on
	blockStart int // window position of the current block; negative once slid out
	highWater  int // window bytes below this have been written or zeroed

	matchStart  int // position of the match found at strstart
	matchLength int
	prevMatch   int // position of the match found at strstart-1
	prevLength  int
	matchAvail  bool // the byte at strstart-1 is not yet emitted

	blk block
	bw  bitWriter
}

func newDeflater(data []byte, keep bool) *deflater {
	d := &deflater{in: data, all: data}
	d.matchLength = minMatch - 1
	d.prevLength = minMatch - 1
	d.blk.init()
	d.bw.keep = keep
	return d
}

// run compresses the whole input: header, blocks, Adler-32 trailer.
func (d *deflater) run() {
	d.bw.byte(header0)
	d.bw.byte(header1)
	d.deflateSlow()
	a := adler32.Checksum(d.all)
	d.bw.byte(byte(a >> 24))
	d.bw.byte(byte(a >> 16))
	d.bw.byte(byte(a >> 8))
	d.bw.byte(byte(a))
}

func (d *deflater) updateHash(c byte) {
	d.insH = (d.insH<<hashShift ^ uint32(c)) & hashMask
}

// insertString hashes the three bytes at pos, links pos into its chain
// and returns the chain's previous head (0 for none).
func (d *deflater) insertString(pos int) int {
	d.updateHash(d.window[pos+minMatch-1])
	h := d.head[d.insH]
	d.prev[pos&wMask] = h
	d.head[d.insH] = uint16(pos)
	return int(h)
}

// slideHash moves every stored position down by wSize, dropping those
// that fall off the window.
func (d *deflater) slideHash() {
	for i, p := range d.head {
		if p >= wSize {
			d.head[i] = p - wSize
		} else {
			d.head[i] = 0
		}
	}
	for i, p := range d.prev {
		if p >= wSize {
			d.prev[i] = p - wSize
		} else {
			d.prev[i] = 0
		}
	}
}

// fillWindow slides the window when the position is deep into its upper
// half, then reads input until there is enough lookahead for a match and
// the hash of the next string, or the input is exhausted. It keeps the
// winInit bytes past the data zeroed (unless already written), because
// longestMatch compares them.
func (d *deflater) fillWindow() {
	for {
		more := windowSize - d.lookahead - d.strstart
		if d.strstart >= wSize+maxDist {
			// Only the live bytes move down; the lower half past them and
			// the whole upper half keep what they held.
			n := wSize - more
			copy(d.window[:n], d.window[wSize:wSize+n])
			d.matchStart -= wSize
			d.strstart -= wSize
			d.blockStart -= wSize
			d.slideHash()
			more += wSize
		}
		if len(d.in) == 0 {
			break
		}
		end := d.strstart + d.lookahead
		n := copy(d.window[end:end+more], d.in)
		d.in = d.in[n:]
		d.lookahead += n

		// Restart the rolling hash from the first two bytes at
		// strstart. (C zlib also hashes here positions left unhashed by
		// an earlier deflate call or a dictionary; a stream compressed in
		// one go has none.)
		if d.lookahead >= minMatch {
			d.insH = uint32(d.window[d.strstart])
			d.updateHash(d.window[d.strstart+1])
		}
		if d.lookahead >= minLookahead || len(d.in) == 0 {
			break
		}
	}

	if d.highWater < windowSize {
		curr := d.strstart + d.lookahead
		if d.highWater < curr {
			init := min(windowSize-curr, winInit)
			clear(d.window[curr : curr+init])
			d.highWater = curr + init
		} else if d.highWater < curr+winInit {
			init := min(curr+winInit-d.highWater, windowSize-d.highWater)
			clear(d.window[d.highWater : d.highWater+init])
			d.highWater += init
		}
	}
}

// longestMatch follows the hash chain from cur and returns the length of
// the longest match at strstart that is longer than prevLength (or
// prevLength when there is none), capped at the lookahead; it sets
// matchStart when it finds a longer one. Like C zlib it takes the third
// byte as equal (the hash implies it for live chain entries), and it
// compares up to maxMatch bytes before capping, so bytes past the input's
// end can decide between candidates.
func (d *deflater) longestMatch(cur int) int {
	w := &d.window
	chain := maxChain
	scan := d.strstart
	bestLen := d.prevLength
	nice := niceLength
	limit := 0
	if d.strstart > maxDist {
		limit = d.strstart - maxDist
	}
	scanEnd1 := w[scan+bestLen-1]
	scanEnd := w[scan+bestLen]
	if d.prevLength >= goodLength {
		chain >>= 2
	}
	if nice > d.lookahead {
		nice = d.lookahead
	}
	for {
		m := cur
		if w[m+bestLen] == scanEnd && w[m+bestLen-1] == scanEnd1 &&
			w[m] == w[scan] && w[m+1] == w[scan+1] {
			n := 3
			for n < maxMatch && w[scan+n] == w[m+n] {
				n++
			}
			if n > bestLen {
				d.matchStart = cur
				bestLen = n
				if n >= nice {
					break
				}
				scanEnd1 = w[scan+bestLen-1]
				scanEnd = w[scan+bestLen]
			}
		}
		cur = int(d.prev[cur&wMask])
		if cur <= limit {
			break
		}
		chain--
		if chain == 0 {
			break
		}
	}
	return min(bestLen, d.lookahead)
}

// deflateSlow is C zlib's lazy-matching compressor (levels 4 to 9) run
// to the end of the input.
func (d *deflater) deflateSlow() {
	for {
		if d.lookahead < minLookahead {
			d.fillWindow()
			if d.lookahead == 0 {
				break
			}
		}

		hashHead := 0
		if d.lookahead >= minMatch {
			hashHead = d.insertString(d.strstart)
		}

		d.prevLength, d.prevMatch = d.matchLength, d.matchStart
		d.matchLength = minMatch - 1
		if hashHead != 0 && d.prevLength < maxLazy && d.strstart-hashHead <= maxDist {
			d.matchLength = d.longestMatch(hashHead)
			if d.matchLength == minMatch && d.strstart-d.matchStart > tooFar {
				d.matchLength = minMatch - 1
			}
		}

		switch {
		case d.prevLength >= minMatch && d.matchLength <= d.prevLength:
			// The match at strstart-1 is at least as long: emit it and
			// hash the positions it covers (all but the last two when the
			// input ends within three bytes of it).
			maxInsert := d.strstart + d.lookahead - minMatch
			full := d.blk.tallyMatch(d.strstart-1-d.prevMatch, d.prevLength-minMatch)
			d.lookahead -= d.prevLength - 1
			for range d.prevLength - 2 {
				d.strstart++
				if d.strstart <= maxInsert {
					d.insertString(d.strstart)
				}
			}
			d.prevLength = 0
			d.matchAvail = false
			d.matchLength = minMatch - 1
			d.strstart++
			if full {
				d.flushBlock(false)
			}
		case d.matchAvail:
			// No match at strstart-1, or a longer one at strstart: the
			// byte at strstart-1 is a literal.
			if d.blk.tallyLit(d.window[d.strstart-1]) {
				d.flushBlock(false)
			}
			d.strstart++
			d.lookahead--
		default:
			d.matchAvail = true
			d.strstart++
			d.lookahead--
		}
	}
	if d.matchAvail {
		d.blk.tallyLit(d.window[d.strstart-1])
		d.matchAvail = false
	}
	d.flushBlock(true)
}

// flushBlock ends the current block at strstart. The stored form is
// possible only while the block's bytes are still in the window.
func (d *deflater) flushBlock(last bool) {
	var buf []byte
	storedLen := d.strstart - d.blockStart
	if d.blockStart >= 0 {
		buf = d.window[d.blockStart : d.blockStart+storedLen]
	}
	d.blk.flush(&d.bw, buf, storedLen, last)
	d.blockStart = d.strstart
}
