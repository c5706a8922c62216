// Package encoders will hold the in-process neural encoders (CLIP, BLIP,
// CoCa, HuBERT) over package kernels (see ../shared/DESIGN.md, decision 3).
// It is empty until the encoder issue lands.
package encoders
