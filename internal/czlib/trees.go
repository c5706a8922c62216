package czlib

// Deflate alphabet sizes and the limits C zlib builds its codes with.
const (
	lengthCodes = 29
	literals    = 256
	lCodes      = literals + 1 + lengthCodes // literal/length alphabet
	dCodes      = 30                         // distance alphabet
	blCodes     = 19                         // code-length alphabet
	heapSize    = 2*lCodes + 1               // leaves and internal nodes
	maxBits     = 15
	maxBLBits   = 7
	endBlock    = 256

	rep3to6     = 16 // repeat the previous length 3–6 times
	repz3to10   = 17 // repeat a zero length 3–10 times
	repz11to138 = 18 // repeat a zero length 11–138 times

	storedBlock, fixedBlock, dynBlock = 0, 1, 2
)

var (
	extraLBits  = [lengthCodes]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	extraDBits  = [dCodes]int{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	extraBLBits = [blCodes]int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7}
	// blOrder is the order code-length code lengths are sent in.
	blOrder = [blCodes]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

	lengthCode [maxMatch - minMatch + 1]uint8 // by length-3
	baseLength [lengthCodes]int
	distCode   [512]uint8 // by distance-1 below 256, then by (distance-1)>>7
	baseDist   [dCodes]int

	// The fixed codes. The literal/length table includes the two unused
	// codes 286 and 287, which the canonical code assignment counts.
	staticLLen, staticLCode [lCodes + 2]int
	staticDLen, staticDCode [dCodes]int
)

func init() {
	n := 0
	for code := range lengthCodes - 1 {
		baseLength[code] = n
		for range 1 << extraLBits[code] {
			lengthCode[n] = uint8(code)
			n++
		}
	}
	// Length 258 has code 285 of its own rather than 284's last slot.
	lengthCode[n-1] = lengthCodes - 1

	dist := 0
	for code := range 16 {
		baseDist[code] = dist
		for range 1 << extraDBits[code] {
			distCode[dist] = uint8(code)
			dist++
		}
	}
	dist >>= 7
	for code := 16; code < dCodes; code++ {
		baseDist[code] = dist << 7
		for range 1 << (extraDBits[code] - 7) {
			distCode[256+dist] = uint8(code)
			dist++
		}
	}

	var count [maxBits + 1]int
	for i := range staticLLen {
		switch {
		case i <= 143:
			staticLLen[i] = 8
		case i <= 255:
			staticLLen[i] = 9
		case i <= 279:
			staticLLen[i] = 7
		default:
			staticLLen[i] = 8
		}
		count[staticLLen[i]]++
	}
	genCodes(staticLCode[:], staticLLen[:], lCodes+1, &count)
	for i := range staticDLen {
		staticDLen[i] = 5
		staticDCode[i] = reverseBits(i, 5)
	}
}

// dcode is the distance code of a distance minus one.
func dcode(dist int) int {
	if dist < 256 {
		return int(distCode[dist])
	}
	return int(distCode[256+dist>>7])
}

// symbol is one entry of the block's symbol buffer: a literal (dist 0)
// or a match (dist ≥ 1, lc = length-3).
type symbol struct {
	dist uint16
	lc   uint8
}

// huffTree is one dynamic code under construction: leaves first, then
// the internal nodes build adds.
type huffTree struct {
	freq, len, dad, code []int
	maxCode              int // largest leaf with a nonzero frequency
}

func newHuffTree(nodes int) huffTree {
	return huffTree{
		freq: make([]int, nodes), len: make([]int, nodes),
		dad: make([]int, nodes), code: make([]int, nodes),
	}
}

// treeDesc is the fixed part of a code: its static lengths (nil for the
// code-length code), extra bits per symbol from extraBase on, alphabet
// size and length limit.
type treeDesc struct {
	staticLen []int
	extra     []int
	extraBase int
	elems     int
	maxLength int
}

var (
	lDesc  = treeDesc{staticLLen[:], extraLBits[:], literals + 1, lCodes, maxBits}
	dDesc  = treeDesc{staticDLen[:], extraDBits[:], 0, dCodes, maxBits}
	blDesc = treeDesc{nil, extraBLBits[:], 0, blCodes, maxBLBits}
)

// block is the symbols of the current block and C zlib's machinery to
// choose and write its encoding.
type block struct {
	syms []symbol
	lt   huffTree // literal/length
	dt   huffTree // distance
	bt   huffTree // code lengths

	heap             [heapSize]int // heap[1..heapLen]; sorted nodes at heap[heapMax:]
	heapLen, heapMax int
	depth            [heapSize]uint8 // subtree depth, the frequency tie-break
	blCount          [maxBits + 1]int

	optLen, staticLen int // block size in bits with dynamic and with fixed codes
}

func (b *block) init() {
	b.syms = make([]symbol, 0, symEnd)
	b.lt = newHuffTree(heapSize)
	b.dt = newHuffTree(2*dCodes + 1)
	b.bt = newHuffTree(2*blCodes + 1)
	b.reset()
}

func (b *block) reset() {
	b.syms = b.syms[:0]
	clear(b.lt.freq[:lCodes])
	clear(b.dt.freq[:dCodes])
	clear(b.bt.freq[:blCodes])
	b.lt.freq[endBlock] = 1
	b.optLen, b.staticLen = 0, 0
}

// tallyLit records a literal and reports whether the block is full.
func (b *block) tallyLit(c byte) bool {
	b.syms = append(b.syms, symbol{0, c})
	b.lt.freq[c]++
	return len(b.syms) == symEnd
}

// tallyMatch records a match (lc is length-3) and reports whether the
// block is full.
func (b *block) tallyMatch(dist, lc int) bool {
	b.syms = append(b.syms, symbol{uint16(dist), uint8(lc)})
	b.lt.freq[int(lengthCode[lc])+literals+1]++
	b.dt.freq[dcode(dist-1)]++
	return len(b.syms) == symEnd
}

// smaller orders nodes by frequency, then by depth.
func (b *block) smaller(t *huffTree, n, m int) bool {
	return t.freq[n] < t.freq[m] || t.freq[n] == t.freq[m] && b.depth[n] <= b.depth[m]
}

// downHeap sifts heap[k] down to its place.
func (b *block) downHeap(t *huffTree, k int) {
	v := b.heap[k]
	j := k << 1
	for j <= b.heapLen {
		if j < b.heapLen && b.smaller(t, b.heap[j+1], b.heap[j]) {
			j++
		}
		if b.smaller(t, v, b.heap[j]) {
			break
		}
		b.heap[k] = b.heap[j]
		k = j
		j <<= 1
	}
	b.heap[k] = v
}

// build computes the Huffman code of t's frequencies: lengths, codes and
// maxCode, adding its cost to optLen (and staticLen where desc has a
// static code).
func (b *block) build(t *huffTree, desc *treeDesc) {
	b.heapLen, b.heapMax = 0, heapSize
	maxCode := -1
	for n := range desc.elems {
		if t.freq[n] != 0 {
			b.heapLen++
			b.heap[b.heapLen] = n
			maxCode = n
			b.depth[n] = 0
		} else {
			t.len[n] = 0
		}
	}
	// Deflate needs at least one distance code, and a code of one symbol
	// still takes one bit: force two leaves. Their cost cancels out.
	for b.heapLen < 2 {
		node := 0
		if maxCode < 2 {
			maxCode++
			node = maxCode
		}
		b.heapLen++
		b.heap[b.heapLen] = node
		t.freq[node] = 1
		b.depth[node] = 0
		b.optLen--
		if desc.staticLen != nil {
			b.staticLen -= desc.staticLen[node]
		}
	}
	t.maxCode = maxCode

	for n := b.heapLen / 2; n >= 1; n-- {
		b.downHeap(t, n)
	}
	node := desc.elems
	for {
		n := b.heap[1]
		b.heap[1] = b.heap[b.heapLen]
		b.heapLen--
		b.downHeap(t, 1)
		m := b.heap[1]

		b.heapMax--
		b.heap[b.heapMax] = n
		b.heapMax--
		b.heap[b.heapMax] = m

		t.freq[node] = t.freq[n] + t.freq[m]
		b.depth[node] = max(b.depth[n], b.depth[m]) + 1
		t.dad[n], t.dad[m] = node, node
		b.heap[1] = node
		node++
		b.downHeap(t, 1)
		if b.heapLen < 2 {
			break
		}
	}
	b.heapMax--
	b.heap[b.heapMax] = b.heap[1]

	b.genBitLen(t, desc)
	genCodes(t.code, t.len, maxCode, &b.blCount)
}

// genBitLen sets the code lengths from the tree build made (root first
// in heap[heapMax:]), limiting them to desc.maxLength the way C zlib
// does: count the overflow, rebalance blCount, then hand the lengths out
// again from the least frequent leaf up.
func (b *block) genBitLen(t *huffTree, desc *treeDesc) {
	clear(b.blCount[:])
	overflow := 0
	t.len[b.heap[b.heapMax]] = 0
	h := b.heapMax + 1
	for ; h < heapSize; h++ {
		n := b.heap[h]
		bits := t.len[t.dad[n]] + 1
		if bits > desc.maxLength {
			bits = desc.maxLength
			overflow++
		}
		t.len[n] = bits
		if n > t.maxCode {
			continue // internal node
		}
		b.blCount[bits]++
		xbits := 0
		if n >= desc.extraBase {
			xbits = desc.extra[n-desc.extraBase]
		}
		f := t.freq[n]
		b.optLen += f * (bits + xbits)
		if desc.staticLen != nil {
			b.staticLen += f * (desc.staticLen[n] + xbits)
		}
	}
	if overflow == 0 {
		return
	}

	for overflow > 0 {
		bits := desc.maxLength - 1
		for b.blCount[bits] == 0 {
			bits--
		}
		b.blCount[bits]--
		b.blCount[bits+1] += 2
		b.blCount[desc.maxLength]--
		overflow -= 2
	}
	for bits := desc.maxLength; bits != 0; bits-- {
		for n := b.blCount[bits]; n != 0; {
			h--
			m := b.heap[h]
			if m > t.maxCode {
				continue
			}
			if t.len[m] != bits {
				b.optLen += (bits - t.len[m]) * t.freq[m]
				t.len[m] = bits
			}
			n--
		}
	}
}

// genCodes assigns canonical codes, bit-reversed for sending, to the
// symbols 0..maxCode from their lengths and the count of each length.
func genCodes(code, lens []int, maxCode int, count *[maxBits + 1]int) {
	var next [maxBits + 1]int
	c := 0
	for bits := 1; bits <= maxBits; bits++ {
		c = (c + count[bits-1]) << 1
		next[bits] = c
	}
	for n := 0; n <= maxCode; n++ {
		l := lens[n]
		if l == 0 {
			continue
		}
		code[n] = reverseBits(next[l], l)
		next[l]++
	}
}

func reverseBits(code, n int) int {
	r := 0
	for range n {
		r = r<<1 | code&1
		code >>= 1
	}
	return r
}

// scanTree counts, in the code-length code's frequencies, the run-length
// encoded lengths of t's symbols 0..maxCode.
func (b *block) scanTree(t *huffTree, maxCode int) {
	t.len[maxCode+1] = 0xffff // guard: ends the last run
	b.runs(t, maxCode, func(sym, _, _ int) { b.bt.freq[sym]++ })
}

// sendTree writes t's lengths with the code-length code.
func (b *block) sendTree(w *bitWriter, t *huffTree, maxCode int) {
	b.runs(t, maxCode, func(sym, extra, nbits int) {
		w.bits(b.bt.code[sym], b.bt.len[sym])
		if nbits > 0 {
			w.bits(extra, nbits)
		}
	})
}

// runs calls emit(symbol, extra bits, extra bit count) for the
// code-length symbols that encode t.len[0..maxCode], as C zlib's
// scan_tree and send_tree split them into runs. t.len[maxCode+1] must
// hold the guard scanTree sets.
func (b *block) runs(t *huffTree, maxCode int, emit func(sym, extra, nbits int)) {
	prevLen := -1
	nextLen := t.len[0]
	count := 0
	maxCount, minCount := 7, 4
	if nextLen == 0 {
		maxCount, minCount = 138, 3
	}
	for n := 0; n <= maxCode; n++ {
		curLen := nextLen
		nextLen = t.len[n+1]
		count++
		if count < maxCount && curLen == nextLen {
			continue
		}
		switch {
		case count < minCount:
			for range count {
				emit(curLen, 0, 0)
			}
		case curLen != 0:
			if curLen != prevLen {
				emit(curLen, 0, 0)
				count--
			}
			emit(rep3to6, count-3, 2)
		case count <= 10:
			emit(repz3to10, count-3, 3)
		default:
			emit(repz11to138, count-11, 7)
		}
		count = 0
		prevLen = curLen
		switch {
		case nextLen == 0:
			maxCount, minCount = 138, 3
		case curLen == nextLen:
			maxCount, minCount = 6, 3
		default:
			maxCount, minCount = 7, 4
		}
	}
}

// buildBLTree builds the code-length code for the two trees and returns
// the index in blOrder of the last length to send (at least 3).
func (b *block) buildBLTree() int {
	b.scanTree(&b.lt, b.lt.maxCode)
	b.scanTree(&b.dt, b.dt.maxCode)
	b.build(&b.bt, &blDesc)
	maxIndex := blCodes - 1
	for ; maxIndex >= 3; maxIndex-- {
		if b.bt.len[blOrder[maxIndex]] != 0 {
			break
		}
	}
	b.optLen += 3*(maxIndex+1) + 5 + 5 + 4
	return maxIndex
}

// flush writes the block in the smallest of C zlib's three estimates
// (stored only when buf, the block's bytes, is still available) and
// starts the next block.
func (b *block) flush(w *bitWriter, buf []byte, storedLen int, last bool) {
	b.build(&b.lt, &lDesc)
	b.build(&b.dt, &dDesc)
	maxIndex := b.buildBLTree()

	optBytes := (b.optLen + 3 + 7) >> 3
	staticBytes := (b.staticLen + 3 + 7) >> 3
	if staticBytes <= optBytes {
		optBytes = staticBytes
	}

	final := 0
	if last {
		final = 1
	}
	switch {
	case buf != nil && storedLen+4 <= optBytes:
		w.bits(storedBlock<<1+final, 3)
		w.align()
		w.bits(storedLen&0xffff, 16)
		w.bits(^storedLen&0xffff, 16)
		w.bytes(buf)
	case staticBytes == optBytes:
		w.bits(fixedBlock<<1+final, 3)
		b.compress(w, staticLCode[:], staticLLen[:], staticDCode[:], staticDLen[:])
	default:
		w.bits(dynBlock<<1+final, 3)
		b.sendAllTrees(w, b.lt.maxCode+1, b.dt.maxCode+1, maxIndex+1)
		b.compress(w, b.lt.code, b.lt.len, b.dt.code, b.dt.len)
	}
	b.reset()
	if last {
		w.align()
	}
}

func (b *block) sendAllTrees(w *bitWriter, lcodes, dcodes, blcodes int) {
	w.bits(lcodes-257, 5)
	w.bits(dcodes-1, 5)
	w.bits(blcodes-4, 4)
	for rank := range blcodes {
		w.bits(b.bt.len[blOrder[rank]], 3)
	}
	b.sendTree(w, &b.lt, lcodes-1)
	b.sendTree(w, &b.dt, dcodes-1)
}

// compress writes the block's symbols and its end with the given codes.
func (b *block) compress(w *bitWriter, lcode, llen, dcodes, dlen []int) {
	for _, s := range b.syms {
		if s.dist == 0 {
			w.bits(lcode[s.lc], llen[s.lc])
			continue
		}
		lc := int(s.lc)
		code := int(lengthCode[lc])
		w.bits(lcode[code+literals+1], llen[code+literals+1])
		if extra := extraLBits[code]; extra != 0 {
			w.bits(lc-baseLength[code], extra)
		}
		dist := int(s.dist) - 1
		code = dcode(dist)
		w.bits(dcodes[code], dlen[code])
		if extra := extraDBits[code]; extra != 0 {
			w.bits(dist-baseDist[code], extra)
		}
	}
	w.bits(lcode[endBlock], llen[endBlock])
}
