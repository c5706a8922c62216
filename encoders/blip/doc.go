// Package blip runs Salesforce's BLIP in pure Go from checkpoints in the
// Hugging Face transformers layout (config.json + model.safetensors):
//
//   - ITM (BlipForImageTextRetrieval): a ViT image tower, a BERT text
//     encoder whose layers cross-attend to the image tokens, an image-text
//     matching head (ITMLogits) and the contrastive projections
//     (ImageFeatures, TextFeatures, Similarity).
//   - Captioner (BlipForConditionalGeneration): the same image tower and a
//     causal BERT decoder with an LM head (Logits, Greedy).
//
// The image tower is a pre-norm transformer (nn.Block) with a fused qkv
// projection and a final post_layernorm; its output, the image embeds
// [tokens, vision width] with the class token first, is what the text
// side cross-attends to. The text side is BERT: post-norm layers
//
//	x = LN(x + SelfAttn(x)); x = LN(x + CrossAttn(x, image)); x = LN(x + FFN(x))
//
// with absolute position embeddings and a layer norm on the embeddings.
// The cross-attention keys and values are projected from the vision width
// (text_config.encoder_hidden_size). The ITM encoder attends both ways
// over the text with a padding mask; the caption decoder attends causally
// and keeps a key/value cache (keys and values of the tokens seen so far,
// and the cross-attention keys and values of the image, computed once) so
// that greedy decoding costs one token's work per step.
//
// Every size comes from config.json, with transformers' defaults for keys
// that are absent. A checkpoint that does not fit the config is refused
// with one error naming every mismatched or missing tensor.
//
// Models are immutable after loading and safe for concurrent use; each
// call allocates its own scratch. Returned slices belong to the caller.
package blip
