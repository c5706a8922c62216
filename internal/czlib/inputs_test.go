package czlib

import (
	"encoding/binary"
	"strings"
)

// The inputs of the differential tests, generated from (kind, seed,
// size) exactly as testdata/gen_expected.py generates them, so that
// testdata/expected.txt needs to hold only digests.

// rng is splitmix64.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

func (r *rng) below(n int) int { return int(r.next() % uint64(n)) }

var (
	words = strings.Fields("the of and to a in is it you that he was for on are with as I his they be at one have " +
		"this from or had by hot word but what some we can out other were all there when up use " +
		"your how said an each she which do their time if will way about many then them write " +
		"would like so these her long make thing see him two has look more day could go come did " +
		"number sound no most people my over know water than call first who may down side been " +
		"now find any new work part take get place made live where after back little only round " +
		"man year came show every good me give our under name very through just form sentence " +
		"great think say help low line differ turn cause much mean before move right boy old too " +
		"same tell does set three want air well also play small end put home read hand port large " +
		"spell add even land here must big high such follow act why ask men change went light")
	mwords = strings.Fields("мир привет спасибо книга вода 日本語 こんにちは ありがとう 東京 中文 你好 谢谢 世界 " +
		"한국어 안녕하세요 감사합니다 مرحبا شكرا عالم שלום תודה नमस्ते धन्यवाद ελληνικά ευχαριστώ " +
		"Größe Straße déjà vu naïve café façade ñandú 🙂 🎵 🌍 ⚡ ✓ — … « » „ “ ” the and")
	phrases = []string{" the", " the the", " Thank you.", " I'm sorry.", " you", " Okay.", " So,", " 谢谢观看",
		" Thank you for watching!", " la la la", " ...", " I don't know. I don't know.", " ლ",
		" Subtitles by the Amara.org community"}
	kinds = []string{"zeros", "random", "lowent", "text", "utf8", "phrase", "periodic", "far", "mixed"}
)

func trigram(i int) []byte {
	return []byte{byte(97 + i*7%26), byte(97 + i*11%26), byte(97 + i*13%26)}
}

func genWords(r *rng, vocab []string, size int) []byte {
	var out []byte
	for len(out) < size {
		out = append(out, vocab[r.below(len(vocab))]...)
		switch r.below(16) {
		case 0:
			out = append(out, ". "...)
		case 1:
			out = append(out, ", "...)
		case 2:
			out = append(out, '\n')
		default:
			out = append(out, ' ')
		}
	}
	return out
}

// generate returns the input named by kind, seed and size.
func generate(kind string, seed uint64, size int) []byte {
	r := &rng{seed}
	var out []byte
	switch kind {
	case "zeros":
		return make([]byte, size)
	case "random":
		for len(out) < size {
			out = binary.LittleEndian.AppendUint64(out, r.next())
		}
	case "lowent":
		for range size {
			out = append(out, byte(97+r.below(4)))
		}
	case "text":
		out = genWords(r, words, size)
	case "utf8":
		out = genWords(r, mwords, size)
	case "phrase":
		p := phrases[r.below(len(phrases))]
		for len(out) < size {
			out = append(out, p...)
			if r.below(8) == 0 {
				out = append(out, ' ')
				out = append(out, words[r.below(len(words))]...)
			}
		}
	case "periodic":
		pat := make([]byte, 1+r.below(3000))
		for i := range pat {
			pat[i] = byte(r.below(256))
		}
		for len(out) < size {
			out = append(out, pat...)
		}
	case "far":
		for len(out) < size {
			out = append(out, trigram(r.below(50))...)
			for range r.below(64) {
				out = append(out, byte(r.below(256)))
			}
		}
	case "mixed":
		for len(out) < size {
			k := kinds[r.below(len(kinds)-1)]
			n := 1 + r.below(5000)
			out = append(out, generate(k, r.next(), n)...)
		}
	default:
		panic("unknown kind " + kind)
	}
	return out[:size]
}
