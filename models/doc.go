// Package models manages the checkpoints the encoders load: a built-in
// catalogue of known hub models, a models directory that holds installed
// ones, and the pull, add and verify operations behind `rosetta models`.
//
// # Catalogue
//
// Builtin returns the known checkpoints as Go data (catalog.go): hub
// repository, layout (LayoutHF: config.json + model.safetensors;
// LayoutOpenCLIP: open_clip_config.json + open_clip_model.safetensors),
// architecture, modalities, embedding dimension, licence and files. A file
// may come from another repository than its entry (open_clip checkpoints
// take the standard CLIP BPE vocab.json and merges.txt from
// openai/clip-vit-base-patch32).
//
// Each file is pinned (File.Pinned: its size and sha256 are stated, for
// the commit its entry names) or unpinned (size 0, sha256 ""). A pull or
// an add checks a pinned file's bytes and refuses others; an unpinned one
// is taken as the hub serves it and its digest is recorded in the
// manifest, so verification still detects later change but not a
// substitution before the download. `rosetta models list` shows how many
// files of each entry are pinned and `rosetta models info` (alias show)
// says it per file. No built-in file is pinned yet: the hub could not be
// reached when the catalogue was written, and a digest is never guessed.
//
// # Pinning
//
// To pin an entry, a maintainer with network access:
//
//  1. Picks the commit: `curl -s https://huggingface.co/api/models/REPO`
//     gives it as "sha" (or /api/models/REPO/revision/REV for another
//     branch or tag). Sets Entry.Revision to the full 40-hex commit, and
//     File.Revision likewise for files taken from another repository (the
//     CLIP tokenizer). A digest must never be stated for "main": the
//     branch moves and the pull would then fail with a checksum mismatch
//     (TestCatalog refuses it).
//  2. Lists the files at that commit:
//     `curl -s https://huggingface.co/api/models/REPO/tree/COMMIT`. Each
//     entry has "size"; a file stored with Git LFS (the weights) has
//     "lfs": {"oid": SHA256, "size": N}, whose oid is the file's sha256.
//     The same numbers come from
//     `curl -sI https://huggingface.co/REPO/resolve/COMMIT/FILE`
//     (X-Linked-Size, X-Linked-Etag).
//  3. For files not in LFS (config and tokenizer files) the API gives only
//     the git blob id, which is not a sha256: downloads them from
//     /REPO/resolve/COMMIT/FILE and runs sha256sum.
//  4. Fills Size and SHA256 (lower case) of every file of the entry, optional
//     ones included (an optional file the commit lacks is removed from the
//     entry), and runs `go test ./models/ -run Catalog`, then
//     `rosetta models pull NAME` against the hub, which checks every digest.
//
// # Models directory
//
// The directory is Options/--models, else $ROSETTA_MODELS, else
// os.UserCacheDir()/rosetta/models. A model called "org/name" lives in
// "org--name" (the Hugging Face cache convention; names may not contain
// "--", so the mapping is one-to-one). Each model directory holds the
// checkpoint's files and a manifest, rosetta-model.json (format 1, see
// Manifest): name, source, layout, the time it was added and every file's
// size and sha256. Hidden entries are ours: ".pull-org--name" is the
// staging directory of an unfinished pull, ".add-org--name-*" a copy in
// progress.
//
// # Pull
//
// Pull fetches each file from BaseURL/{repo}/resolve/{revision}/{file}
// into the staging directory as NAME.part, resuming with "Range:
// bytes=N-" when a part file exists (206: append; 200: the server ignored
// the range, start again from zero; 416: the part is already complete, or
// start again). Every byte is hashed as it is written; a complete file is
// checked against the catalogue's size and sha256 where known (a mismatch
// deletes it and names the file, the expected and the actual digest),
// synced and renamed to NAME. Failures that another attempt may fix are
// retried with exponential backoff (timeouts, stalls, refused or reset
// connections, temporary DNS failures, 408, 429 and 5xx, honouring
// Retry-After up to MaxBackoff); an attempt that received data resets the
// count. Failures that cannot fix themselves stop the pull at once with
// what to do: a host name that does not resolve and a TLS certificate that
// does not verify (ErrNetwork), 404/410, 401/403 and other 4xx (ErrHTTP). When all files are in, the manifest is written, the
// staging directory synced and renamed to the model directory, and the
// models directory synced: the model directory either does not exist or is
// complete. Cancelling the context leaves the part files for the next
// Pull. A flock on the staging directory keeps two processes from pulling
// the same model at once (ErrBusy).
//
// A part file survives Ctrl-C intact; after a power loss its tail may not
// be, which only the catalogue's digest (where known) would catch: run
// `rosetta models verify` against a digest you trust if that matters.
//
// # Add, Verify, Resolve
//
// Add registers a directory obtained by hand (copied, or symlinked file by
// file), after checking that it looks like a checkpoint, and writes a
// manifest with the computed digests. Under a catalogue name it also
// checks that the directory is that checkpoint, from its config files
// alone (Inspect, Entry.Compare; no weights are read): the family from
// config.json model_type and architectures (clip, blip with
// BlipForConditionalGeneration or not, hubert, wav2vec2) or from
// open_clip_config.json (multimodal_cfg: CoCa; a list of vision_cfg.layers:
// ResNet CLIP; else ViT CLIP); the layout; the embedding dimension as the
// loaders compute it (CLIP projection_dim, default 512; BLIP
// image_text_hidden_size, default 256; HuBERT/wav2vec2 hidden_size;
// open_clip embed_dim); and the tokenizer files the entry requires. A
// mismatch is refused (ErrMismatch) with every difference named, unless
// AddOptions.Force, which the manifest records. A name the catalogue does
// not know is checked for a known layout only. Verify recomputes every
// digest and compares it with the manifest and the catalogue, and repeats
// the directory check, so a mismatched directory (forced, or registered by
// an older version) keeps failing with the reason. Resolve maps a --model
// value (a directory, or a model name) to a directory, or explains what to
// run or download.
package models
