"""Makes the pre-LN ("stable layer norm") HuBERT test model and its golden
outputs. The shared fixtures hold only post-LN models, so this checks the
large-model path (layer-norm conv feature encoder, pre-LN transformer,
final encoder layer norm) against PyTorch's own conv1d, layer_norm, gelu
and softmax, in a direct transcription of transformers'
HubertModel forward for do_stable_layer_norm=True, feat_extract_norm="layer".

Run once with Debian's python3-torch (1.13):  /usr/bin/python3 gen.py
Writes config.json, preprocessor_config.json, model.safetensors and
golden.safetensors beside this file.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

torch.manual_seed(20261127)
here = os.path.dirname(os.path.abspath(__file__))

cfg = {
    "model_type": "hubert",
    "architectures": ["HubertModel"],
    "conv_dim": [16, 16, 16],
    "conv_kernel": [10, 3, 2],
    "conv_stride": [5, 2, 2],
    "conv_bias": True,
    "feat_extract_norm": "layer",
    "feat_extract_activation": "gelu",
    "feat_proj_layer_norm": True,
    "do_stable_layer_norm": True,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
    "num_feat_extract_layers": 3,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-5,
}
pre = {"do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
       "padding_value": 0.0, "return_attention_mask": True, "sampling_rate": 16000}

W = {}


def rnd(*shape, std=0.2, mean=0.0):
    return (torch.randn(*shape) * std + mean).float()


cin = 1
for i, (c, k) in enumerate(zip(cfg["conv_dim"], cfg["conv_kernel"])):
    p = f"feature_extractor.conv_layers.{i}."
    W[p + "conv.weight"] = rnd(c, cin, k, std=1.0 / math.sqrt(cin * k))
    W[p + "conv.bias"] = rnd(c, std=0.1)
    W[p + "layer_norm.weight"] = rnd(c, std=0.1, mean=1.0)
    W[p + "layer_norm.bias"] = rnd(c, std=0.1)
    cin = c
d, h, ff = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
K, G = cfg["num_conv_pos_embeddings"], cfg["num_conv_pos_embedding_groups"]
W["feature_projection.layer_norm.weight"] = rnd(cin, std=0.1, mean=1.0)
W["feature_projection.layer_norm.bias"] = rnd(cin, std=0.1)
W["feature_projection.projection.weight"] = rnd(d, cin, std=1.0 / math.sqrt(cin))
W["feature_projection.projection.bias"] = rnd(d, std=0.1)
W["encoder.pos_conv_embed.conv.parametrizations.weight.original0"] = rnd(1, 1, K, std=0.3, mean=1.0)
W["encoder.pos_conv_embed.conv.parametrizations.weight.original1"] = rnd(d, d // G, K)
W["encoder.pos_conv_embed.conv.bias"] = rnd(d, std=0.1)
W["encoder.layer_norm.weight"] = rnd(d, std=0.1, mean=1.0)
W["encoder.layer_norm.bias"] = rnd(d, std=0.1)
for l in range(cfg["num_hidden_layers"]):
    p = f"encoder.layers.{l}."
    for n in ["q_proj", "k_proj", "v_proj", "out_proj"]:
        W[p + f"attention.{n}.weight"] = rnd(d, d, std=1.0 / math.sqrt(d))
        W[p + f"attention.{n}.bias"] = rnd(d, std=0.1)
    for n in ["layer_norm", "final_layer_norm"]:
        W[p + n + ".weight"] = rnd(d, std=0.1, mean=1.0)
        W[p + n + ".bias"] = rnd(d, std=0.1)
    W[p + "feed_forward.intermediate_dense.weight"] = rnd(ff, d, std=1.0 / math.sqrt(d))
    W[p + "feed_forward.intermediate_dense.bias"] = rnd(ff, std=0.1)
    W[p + "feed_forward.output_dense.weight"] = rnd(d, ff, std=1.0 / math.sqrt(ff))
    W[p + "feed_forward.output_dense.bias"] = rnd(d, std=0.1)


def normalize(x):
    # Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm
    return (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)


def forward(x):
    eps = cfg["layer_norm_eps"]
    hs = x[None, None, :].double()
    Wd = {k: v.double() for k, v in W.items()}
    for i, s in enumerate(cfg["conv_stride"]):
        p = f"feature_extractor.conv_layers.{i}."
        hs = F.conv1d(hs, Wd[p + "conv.weight"], Wd[p + "conv.bias"], stride=s)
        c = hs.shape[1]
        hs = F.layer_norm(hs.transpose(1, 2), (c,), Wd[p + "layer_norm.weight"], Wd[p + "layer_norm.bias"], eps=1e-5).transpose(1, 2)
        hs = F.gelu(hs)
    feats = hs.transpose(1, 2)  # [1, T, C]: HubertModel's extract_features
    hs = F.layer_norm(feats, (feats.shape[-1],), Wd["feature_projection.layer_norm.weight"],
                      Wd["feature_projection.layer_norm.bias"], eps=eps)
    hs = F.linear(hs, Wd["feature_projection.projection.weight"], Wd["feature_projection.projection.bias"])
    # Positional conv with weight norm over every dim but 2.
    g = Wd["encoder.pos_conv_embed.conv.parametrizations.weight.original0"]
    v = Wd["encoder.pos_conv_embed.conv.parametrizations.weight.original1"]
    w = g * v / v.norm(dim=(0, 1), keepdim=True)
    pe = F.conv1d(hs.transpose(1, 2), w, Wd["encoder.pos_conv_embed.conv.bias"], padding=K // 2, groups=G)
    if K % 2 == 0:
        pe = pe[:, :, :-1]
    hs = hs + F.gelu(pe).transpose(1, 2)
    T = hs.shape[1]
    hd = d // h
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layers.{l}."
        r = hs
        n = F.layer_norm(hs, (d,), Wd[p + "layer_norm.weight"], Wd[p + "layer_norm.bias"], eps=eps)
        q = F.linear(n, Wd[p + "attention.q_proj.weight"], Wd[p + "attention.q_proj.bias"]) * hd ** -0.5
        k = F.linear(n, Wd[p + "attention.k_proj.weight"], Wd[p + "attention.k_proj.bias"])
        vv = F.linear(n, Wd[p + "attention.v_proj.weight"], Wd[p + "attention.v_proj.bias"])
        q, k, vv = (t.view(1, T, h, hd).transpose(1, 2) for t in (q, k, vv))
        a = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ vv
        a = a.transpose(1, 2).reshape(1, T, d)
        a = F.linear(a, Wd[p + "attention.out_proj.weight"], Wd[p + "attention.out_proj.bias"])
        hs = r + a
        n = F.layer_norm(hs, (d,), Wd[p + "final_layer_norm.weight"], Wd[p + "final_layer_norm.bias"], eps=eps)
        f = F.gelu(F.linear(n, Wd[p + "feed_forward.intermediate_dense.weight"], Wd[p + "feed_forward.intermediate_dense.bias"]))
        hs = hs + F.linear(f, Wd[p + "feed_forward.output_dense.weight"], Wd[p + "feed_forward.output_dense.bias"])
    hs = F.layer_norm(hs, (d,), Wd["encoder.layer_norm.weight"], Wd["encoder.layer_norm.bias"], eps=eps)
    return feats[0].float(), hs[0].float(), hs[0].mean(0).float()


def save(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous().float()
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    n0, n1 = 16000, 11200
    tt = torch.arange(n0, dtype=torch.float64) / 16000
    a0 = (0.3 * torch.sin(2 * math.pi * 220 * tt) + 0.05 * torch.randn(n0, dtype=torch.float64)).float()
    tt = torch.arange(n1, dtype=torch.float64) / 16000
    a1 = (0.2 * torch.sin(2 * math.pi * 570 * tt) * torch.exp(-2 * tt) + 0.02 * torch.randn(n1, dtype=torch.float64)).float()
    golden = {}
    for i, a in enumerate([a0, a1]):
        iv = normalize(a.double()).float()
        feats, last, pooled = forward(iv)
        golden[f"raw_audio_{i}"] = a
        golden[f"input_values_{i}"] = iv
        golden[f"extract_features_{i}"] = feats
        golden[f"last_hidden_state_{i}"] = last
        golden[f"mean_pooled_{i}"] = pooled
    with open(os.path.join(here, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    with open(os.path.join(here, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=1)
    save(os.path.join(here, "model.safetensors"), W)
    save(os.path.join(here, "golden.safetensors"), golden)
    print("wrote", len(W), "weights and", len(golden), "golden tensors; torch", torch.__version__)
