"""ONNX graphs of openai/clip-vit-base-patch32's image and text towers with
random weights, for `rosetta bench encoders --baseline ort`.

They are built node by node in the form torch.onnx.export gives a
transformers CLIPModel at opset 17: every nn.Linear is a MatMul by its
transposed weight (an initializer) followed by an Add of its bias, layer
norms are LayerNormalization, QuickGELU is x * Sigmoid(1.702 x), attention
is MatMul / Softmax / MatMul over [batch, heads, tokens, head_dim], and the
batch dimension is dynamic. ONNX Runtime's optimiser (level 'all') fuses
these the way it fuses an exported model.

The int8 variants are what onnxruntime.quantization.quantize_dynamic makes
of the MatMuls by a weight (per_channel, weight_type QInt8): the activation
goes through DynamicQuantizeLinear (uint8, per tensor), the weight is an
int8 initializer with one symmetric scale per output column (zero point 0),
MatMulInteger gives int32, Cast to float and a Mul by activation scale ×
column scales give the float result; ORT fuses the four into
DynamicQuantizeMatMul. The patch-embedding Conv, the token Gather and the
attention MatMuls (activation by activation) stay float32, as
quantize_dynamic restricted to MatMul leaves them.

The weights are random (no checkpoint can be downloaded here): the speed
of a dense graph does not depend on their values. Shapes are Rosetta's
clip.ViTB32(); the script counts the FLOPs of the nodes it wrote, by ONNX
shape inference at batch 1, and records them with the graphs in
manifest.json, which the Go command checks against its own count.

Usage: /usr/bin/python3 build_graphs.py [--out graphs] [--encoder image,text]
       [--precision float32,int8] [--seed 1]
Needs Debian's python3-onnx and python3-numpy (onnx >= 1.12 for opset 17).
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

OPSET = 17

# openai/clip-vit-base-patch32 (Rosetta's clip.ViTB32()).
VISION = dict(width=768, layers=12, heads=12, mlp=3072, image=224, patch=32, channels=3)
TEXT = dict(width=512, layers=12, heads=8, mlp=2048, context=77, vocab=49408)
EMBED = 512
EPS = 1e-5


class Graph:
    """Collects nodes and initializers; names are unique by a counter."""

    def __init__(self, rng, int8):
        self.rng, self.int8 = rng, int8
        self.nodes, self.inits, self.n = [], [], 0
        self.quantized = {}  # activation name -> DynamicQuantizeLinear outputs

    def name(self, base):
        self.n += 1
        return "%s_%d" % (base, self.n)

    def const(self, base, arr):
        nm = self.name(base)
        self.inits.append(numpy_helper.from_array(np.array(arr, order="C"), nm))
        return nm

    def rand(self, base, shape, std):
        return self.const(base, (self.rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32))

    def op(self, op_type, inputs, n_out=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name(op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    def matmul_weight(self, x, k, n):
        """x @ W for a random weight W [k, n] (torch's Linear.weight.T)."""
        w = (self.rng.standard_normal((k, n), dtype=np.float32) * (1.0 / np.sqrt(k))).astype(np.float32)
        if not self.int8:
            return self.op("MatMul", [x, self.const("weight", w)])
        # Symmetric per-column int8, as quantize_dynamic(per_channel=True,
        # weight_type=QInt8) stores a MatMul weight.
        scale = np.maximum(np.abs(w).max(axis=0), 1e-8) / 127.0
        q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        # One DynamicQuantizeLinear per activation, shared by the MatMuls
        # that read it (q, k and v), as quantize_dynamic shares it.
        if x not in self.quantized:
            self.quantized[x] = self.op("DynamicQuantizeLinear", [x], n_out=3)
        xq, xs, xz = self.quantized[x]
        mm = self.op("MatMulInteger", [xq, self.const("weight_quantized", q), xz,
                                       self.const("weight_zero_point", np.zeros(n, np.int8))])
        f = self.op("Cast", [mm], to=TensorProto.FLOAT)
        s = self.op("Mul", [xs, self.const("weight_scale", scale.astype(np.float32))])
        return self.op("Mul", [f, s])

    def linear(self, x, k, n, bias=True):
        y = self.matmul_weight(x, k, n)
        if bias:
            y = self.op("Add", [y, self.rand("bias", (n,), 0.02)])
        return y

    def layer_norm(self, x, width):
        g = self.const("ln_weight", (1 + self.rng.standard_normal(width, dtype=np.float32) * 0.02).astype(np.float32))
        b = self.rand("ln_bias", (width,), 0.02)
        return self.op("LayerNormalization", [x, g, b], axis=-1, epsilon=EPS)

    def quick_gelu(self, x):
        return self.op("Mul", [x, self.op("Sigmoid", [self.op("Mul", [x, self.const("gelu_k", np.array(1.702, np.float32))])])])

    def block(self, x, width, heads, mlp, mask=None):
        """One pre-norm CLIPEncoderLayer on x [batch, tokens, width]."""
        hd = width // heads
        split = self.const("split_heads", np.array([0, 0, heads, hd], np.int64))
        merge = self.const("merge_heads", np.array([0, 0, width], np.int64))
        h = self.layer_norm(x, width)
        # transformers scales q after its projection.
        q = self.op("Mul", [self.linear(h, width, width), self.const("scale", np.array(hd ** -0.5, np.float32))])
        k = self.linear(h, width, width)
        v = self.linear(h, width, width)
        q = self.op("Transpose", [self.op("Reshape", [q, split])], perm=[0, 2, 1, 3])
        k = self.op("Transpose", [self.op("Reshape", [k, split])], perm=[0, 2, 3, 1])
        v = self.op("Transpose", [self.op("Reshape", [v, split])], perm=[0, 2, 1, 3])
        s = self.op("MatMul", [q, k])
        if mask is not None:
            s = self.op("Add", [s, mask])
        p = self.op("Softmax", [s], axis=-1)
        a = self.op("Reshape", [self.op("Transpose", [self.op("MatMul", [p, v])], perm=[0, 2, 1, 3]), merge])
        x = self.op("Add", [x, self.linear(a, width, width)])
        h = self.layer_norm(x, width)
        h = self.linear(self.quick_gelu(self.linear(h, width, mlp)), mlp, width)
        return self.op("Add", [x, h])

    def model(self, inputs, outputs, name):
        g = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="rosetta bench/ort/build_graphs.py")
        m.ir_version = 8
        return m


def image_graph(rng, int8):
    c = VISION
    w, p, s = c["width"], c["patch"], c["image"]
    grid = s // p
    g = Graph(rng, int8)
    px = "pixel_values"
    conv = g.op("Conv", [px, g.rand("patch_embedding", (w, c["channels"], p, p), 0.02)], kernel_shape=[p, p], strides=[p, p])
    patches = g.op("Transpose", [g.op("Reshape", [conv, g.const("flatten", np.array([0, w, grid * grid], np.int64))])], perm=[0, 2, 1])
    # class token expanded to the batch, as the export's Expand(Shape) does
    batch = g.op("Slice", [g.op("Shape", [px]), g.const("zero", np.array([0], np.int64)), g.const("one", np.array([1], np.int64))])
    cls_shape = g.op("Concat", [batch, g.const("cls_tail", np.array([1, w], np.int64))], axis=0)
    cls = g.op("Expand", [g.rand("class_embedding", (1, 1, w), 0.02), cls_shape])
    x = g.op("Concat", [cls, patches], axis=1)
    x = g.op("Add", [x, g.rand("position_embedding", (grid * grid + 1, w), 0.02)])
    x = g.layer_norm(x, w)
    for _ in range(c["layers"]):
        x = g.block(x, w, c["heads"], c["mlp"])
    pooled = g.op("Gather", [x, g.const("class_index", np.array(0, np.int64))], axis=1)
    pooled = g.layer_norm(pooled, w)
    out = g.linear(pooled, w, EMBED, bias=False)
    g.nodes[-1].output[0] = "image_embeds"
    return g.model([helper.make_tensor_value_info(px, TensorProto.FLOAT, ["batch", c["channels"], s, s])],
                   [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", EMBED])], "clip_vit_b32_image")


def text_graph(rng, int8):
    c = TEXT
    w, n = c["width"], c["context"]
    g = Graph(rng, int8)
    ids = "input_ids"
    x = g.op("Gather", [g.rand("token_embedding", (c["vocab"], w), 0.02), ids], axis=0)
    x = g.op("Add", [x, g.rand("position_embedding", (n, w), 0.01)])
    # transformers' causal mask: the float32 minimum above the diagonal.
    mask = np.triu(np.full((n, n), np.finfo(np.float32).min, np.float32), 1)
    mask = g.const("causal_mask", mask)
    for _ in range(c["layers"]):
        x = g.block(x, w, c["heads"], c["mlp"], mask)
    x = g.layer_norm(x, w)
    # pooled at argmax(input_ids) (the end-of-text token, id 49407)
    at = g.op("ArgMax", [ids], axis=1, keepdims=1)
    pooled = g.op("GatherND", [x, at], batch_dims=1)
    out = g.linear(pooled, w, EMBED, bias=False)
    g.nodes[-1].output[0] = "text_embeds"
    return g.model([helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", n])],
                   [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", EMBED])], "clip_vit_b32_text")


def dims(vi):
    return [d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim]


def count_flops(model):
    """Multiply-add FLOPs of MatMul, MatMulInteger and Conv at batch 1
    (symbolic dimensions taken as 1), from ONNX shape inference."""
    inf = shape_inference.infer_shapes(model)
    shapes = {vi.name: dims(vi) for vi in list(inf.graph.value_info) + list(inf.graph.input) + list(inf.graph.output)}
    shapes.update({t.name: list(t.dims) for t in model.graph.initializer})
    total = 0
    for nd in model.graph.node:
        if nd.op_type in ("MatMul", "MatMulInteger"):
            a, out = shapes.get(nd.input[0]), shapes.get(nd.output[0])
            if a is None or out is None:
                raise SystemExit("shape inference left %s of %s unknown" % (nd.input[0] if a is None else nd.output[0], nd.name))
            total += 2 * int(np.prod(out)) * a[-1]
        elif nd.op_type == "Conv":
            wt, out = shapes[nd.input[1]], shapes.get(nd.output[0])
            total += 2 * int(np.prod(out)) * int(np.prod(wt[1:]))
    return total


def matmul_graph(rng, m, n, k):
    """One MatMul of an input [m, k] by a weight initializer [k, n]: the
    SGEMM anchor of bench/RESULTS.md §3 (shape m×n×k as its table writes
    it), timed by matmul.js."""
    w = numpy_helper.from_array(rng.standard_normal((k, n), dtype=np.float32), "w")
    node = helper.make_node("MatMul", ["a", "w"], ["c"])
    g = helper.make_graph([node], "matmul", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [m, n])], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--matmul", default="", help="comma list of MxNxK: write matmul_MxNxK.onnx only")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "graphs"))
    ap.add_argument("--encoder", default="image,text")
    ap.add_argument("--precision", default="float32,int8")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.matmul:
        os.makedirs(a.out, exist_ok=True)
        for sh in a.matmul.split(","):
            m, n, k = (int(v) for v in sh.split("x"))
            model = matmul_graph(np.random.default_rng(a.seed), m, n, k)
            onnx.checker.check_model(model)
            onnx.save(model, os.path.join(a.out, "matmul_%dx%dx%d.onnx" % (m, n, k)))
        return
    builders = {"image": image_graph, "text": text_graph}
    encs = [e for e in a.encoder.split(",") if e]
    precs = [p for p in a.precision.split(",") if p]
    for e in encs:
        if e not in builders:
            ap.error("--encoder %r: want image or text" % e)
    for p in precs:
        if p not in ("float32", "int8"):
            ap.error("--precision %r: want float32 or int8" % p)
    os.makedirs(a.out, exist_ok=True)
    man_path = os.path.join(a.out, "manifest.json")
    manifest = {}
    if os.path.exists(man_path):
        with open(man_path) as f:
            manifest = json.load(f)
    manifest.setdefault("graphs", {})
    manifest.update(onnx=onnx.__version__, opset=OPSET, seed=a.seed)
    for e in encs:
        for p in precs:
            rng = np.random.default_rng([a.seed, ord(e[0]), len(p)])
            m = builders[e](rng, p == "int8")
            onnx.checker.check_model(m)
            flops = count_flops(m)
            name = "%s_%s.onnx" % (e, p)
            tmp = os.path.join(a.out, name + ".tmp")
            onnx.save(m, tmp)
            os.replace(tmp, os.path.join(a.out, name))
            manifest["graphs"]["%s/%s" % (e, p)] = dict(file=name, gflop_per_item=flops / 1e9,
                                                         nodes=len(m.graph.node), embed_dim=EMBED)
            print("%s: %d nodes, %.3f GFLOP per item, %.0f MB" % (name, len(m.graph.node), flops / 1e9,
                                                                  os.path.getsize(os.path.join(a.out, name)) / 1e6), file=sys.stderr)
            tmp = man_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(manifest, f, indent=1, sort_keys=True)
            os.replace(tmp, man_path)


if __name__ == "__main__":
    main()
