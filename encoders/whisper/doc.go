// Package whisper runs OpenAI's Whisper speech models (the transformers
// WhisperForConditionalGeneration / WhisperModel safetensors layout) in
// pure Go, matching the openai/whisper reference implementation.
//
// Every size comes from config.json and preprocessor_config.json, so the
// same code loads tiny … large-v3 (128 mel bins, 51,866 ids).
//
// Implemented:
//
//   - Frontend: the log-mel spectrogram (log_mel_spectrogram): periodic
//     Hann window, centred STFT with reflect padding and the last frame
//     dropped, power spectrum, the Slaney mel filterbank computed from the
//     sizes (librosa.filters.mel), log10 clamped to max − 8, (x + 4) / 4.
//     Model.LogMel pads with one chunk (30 s) of zeros, as transcribe
//     does; Model.Window is pad_or_trim.
//
//   - The audio encoder (Model.Encode): conv1 (k 3, pad 1) + GELU, conv2
//     (k 3, stride 2, pad 1) + GELU, the checkpoint's sinusoidal
//     positions, pre-LN blocks (k_proj without bias), final layer norm.
//
//   - The text decoder: token embedding + learned positions, pre-LN
//     blocks with causal self-attention and cross-attention, final layer
//     norm, logits against the tied token embedding. A DecoderState keeps
//     the cross-attention keys/values of the audio features and a
//     self-attention key/value cache, so tokens can be fed one step at a
//     time (Step) with the same logits as a full forward
//     (Model.DecoderForward).
//
//   - Tokenizer: the GPT-2-style byte-level BPE from vocab.json,
//     merges.txt and added_tokens.json, with the reference's decode (drops
//     timestamp tokens) and decode_with_timestamps, UTF-8 with replacement.
//
//   - Greedy decoding at temperature 0 (Model.Decode, the reference's
//     decode): the start sequence with optional prompt and prefix,
//     SuppressBlank at the first step, suppress_tokens, the timestamp
//     rules (pairs, non-decreasing, first timestamp ≤ 1 s, timestamp mass
//     against the best text token), sample_len, avg_logprob and
//     no_speech_prob; and language detection (Model.DetectLanguage).
//
//   - Long-form transcription (Model.Transcribe, the reference's
//     transcribe(); golden-tested at temperature 0): the log-mel of the
//     audio padded with 30 s of zeros, 30 s windows from a seek position (the
//     last one cut at the end of the audio and padded with 0.0), segments
//     cut at consecutive timestamp tokens, the seek arithmetic (the last
//     timestamp pair × 2 mel frames, or the whole window after a single
//     final timestamp or without pairs), condition_on_previous_text, the
//     no_speech / logprob skip rule, and the blanking of instantaneous or
//     empty segments, and initial_prompt (TranscribeOptions.InitialPrompt).
//     Neither the samples nor the spectrogram are held whole:
//     TranscribeSamples reads a Samples source (audio.OpenResampled reads
//     an encoded file a range at a time) in two forward passes, one for
//     the spectrogram's maximum, then one for the windows, whose frames
//     are computed as each is decoded, bit for bit as LogMel computes
//     them. Transcribe is the same over a slice. Windows, segments and the
//     full text equal the reference's transcribe() goldens exactly
//     (avg_logprob and no_speech_prob within 1e-6), compression_ratio
//     included: internal/czlib writes C zlib's stream byte for byte.
//
//   - Sampling above temperature 0 (DecodeOptions.Temperature, BestOf:
//     softmax of logits / T, best_of sequences ranked by sum log-prob over
//     length) and transcribe's fallback schedule (TranscribeOptions.
//     Temperatures: decode again at the next temperature while the
//     compression ratio is above 2.4 or avg_logprob below −1, unless the
//     window is silence; no prompt after a window decoded above 0.5).
//     These are tested for their rules, not against goldens: the random
//     draws cannot be the reference's, and only temperature [0] has
//     goldens.
//
// Not implemented yet: beam search; carry_initial_prompt,
// clip_timestamps and word timestamps. English-only
// (.en) models follow the reference's start sequence (<|startoftranscript|>
// alone, language English, no detection: Model.Multilingual). No fixture
// has an English-only vocabulary, so that path has no golden test: it is
// tested on the fixture's files re-laid as the hub's .en ones are
// (TestEnglishOnly).
//
// Accuracy against the goldens (openai/whisper, float32 CPU): the
// filterbank within 2e-9; the log-mel within 1e-5 except in bins whose
// power is ~1e-9 of the frame's peak, where the reference's float32 FFT
// rounding shows (≤ 1.9e-5 on 21 of 1.4 million values; the front end
// itself computes in float64); encoder outputs and logits within 2.2e-6;
// greedy decoding gives the reference's tokens and texts exactly, and
// Transcribe its windows, prompts, segments (ids, seeks, start and end
// times, tokens, texts) and full text exactly.
//
// Activations are row-major float32; linear layers and convolutions (as
// im2col) run on the kernels SGEMM through package nn. A decoder step is
// one row: its products stream the weights once (kernels' one-row GEMV
// paths), the cross-attention keys and values are kept transposed per
// window so a step streams them too, and attention heads run in parallel
// when there are threads (encoder and cross-attention). `rosetta bench
// whisper` times it; bench/RESULTS.md §14 has the figures against
// whisper.cpp. The goldens in
// ../shared/fixtures/whisper are from openai/whisper on float32 CPU.
//
// A loaded Model is immutable and safe for concurrent use; a DecoderState
// belongs to one goroutine.
package whisper
