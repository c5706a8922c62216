package coca

// Model is a loaded CoCa model. It is immutable after Load and safe for
// concurrent use; every method allocates its own outputs and temporaries.
type Model struct {
	Cfg     Config
	vision  *vision
	text    *text
	decoder *decoder
}

// Special token ids of the CLIP BPE vocabulary that open_clip's CoCa
// generates with.
const (
	SOT = 49406 // start of text: the first id of every caption
	EOT = 49407 // end of text: generation stops after it
)
