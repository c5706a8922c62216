// Package coca runs open_clip's CoCa (Contrastive Captioner) in pure Go:
// the ViT image tower with its attentional pooler, the text tower with an
// appended CLS token, and the multimodal decoder that cross-attends from
// text tokens to image tokens and predicts the next token.
//
// The model follows open_clip's CoCa (coca_model.py, transformer.py):
//
//   - Image: conv patch embedding, class token, positional embedding,
//     ln_pre, pre-norm transformer blocks, then an AttentionalPooler
//     (learned queries, ln_q on the queries and ln_k on the image tokens)
//     and ln_post. The first pooled query, projected by visual.proj, is the
//     contrastive image latent; the remaining queries are the image tokens
//     the decoder reads.
//   - Text: token and positional embeddings with a learned CLS embedding
//     appended after the last token. Every position is causal; the CLS row
//     also ignores padding exactly as open_clip's build_cls_mask does (its
//     mask is shifted one column to the right, so the CLS query sees key 0
//     and key j when token j-1 is not pad_id). ln_final is applied to the
//     CLS output only, which text_projection maps to the text latent; the
//     other positions, without ln_final, are the text tokens.
//   - Decoder: per layer a causal self-attention block over the text
//     tokens, then a cross-attention block (ln_1 on the queries, ln_1_kv on
//     the image tokens, fused in_proj split into q and kv), then ln_final
//     and text_projection to vocabulary logits.
//
// Every size comes from open_clip_config.json. Activations are row-major
// float32 slices; a Model is immutable after Load and safe for concurrent
// use. Returned slices are freshly allocated and owned by the caller.
package coca
