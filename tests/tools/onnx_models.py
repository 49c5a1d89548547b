#!/usr/bin/python3
"""onnx_models.py - test models for weft's native ONNX runtime (src/serve/onnx.c), with
reference outputs computed by PyTorch (Debian's python3-torch) or numpy, so the C runtime is
checked against an implementation it did not write.

  onnx_models.py models OUTDIR
      For every supported operator a few small random models: torch.nn modules exported
      with torch.onnx.export where natural, onnx.helper graphs for the rest. Writes
      OUTDIR/NAME.onnx, raw little-endian float32 files NAME.cK.{in,out}J.f32 and
      OUTDIR/index.json:
        {"models": [{"name", "file", "ops": [...], "cases": [{"inputs": [T...],
                     "outputs": [T...]}]}],        T = {"name", "shape", "file"}
         "unsupported": [{"name", "file", "op"}]}  # must be refused, naming "op"
  onnx_models.py digits-ref MODEL_PT CSV OUT_IN OUT_REF
      The digits-pytorch reference: reads model.pt (examples/digits-pytorch) and the test
      CSV, writes the raw pixel rows (float32 [N,64]) to OUT_IN and
      softmax(model(pixels / 16)) to OUT_REF: what the exported model.onnx must give.
Run with /usr/bin/python3 (torch, onnx and numpy). Deterministic: fixed seeds.
"""
import json
import os
import sys

import numpy as np

OUT = None
INDEX = {"models": [], "unsupported": []}
RNG = np.random.RandomState(1234)


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def write_cases(name, cases):
    """cases: list of (inputs, outputs), each a list of (name, array)."""
    out = []
    for k, (ins, outs) in enumerate(cases):
        c = {"inputs": [], "outputs": []}
        for kind, items in (("in", ins), ("out", outs)):
            for j, (tname, arr) in enumerate(items):
                fname = "%s.c%d.%s%d.f32" % (name, k, kind, j)
                f32(arr).tofile(os.path.join(OUT, fname))
                c["inputs" if kind == "in" else "outputs"].append(
                    {"name": tname, "shape": list(np.shape(arr)), "file": fname})
        out.append(c)
    return out


def ops_of(path):
    import onnx
    return sorted({n.op_type for n in onnx.load(path).graph.node})


# ---- torch-exported models ----

def torch_model(name, module, shapes, opset=14, dynamic=True, batches=(1, 3), extra=None):
    """Exports module (eval mode) with inputs of the given shapes (batch dim first, replaced
    by each of batches when dynamic) and records torch's outputs as the reference."""
    import torch
    module.eval()
    in_names = ["x%d" % i for i in range(len(shapes))]
    path = os.path.join(OUT, name + ".onnx")
    example = tuple(torch.randn(*s) for s in shapes)
    dyn = None
    if dynamic:
        dyn = {n: {0: "batch"} for n in in_names + ["y"]}
    with torch.no_grad():
        torch.onnx.export(module, example, path, input_names=in_names, output_names=["y"],
                          dynamic_axes=dyn, opset_version=opset)
    cases = []
    for b in (batches if dynamic else (None,)):
        xs = [torch.from_numpy(RNG.randn(b or s[0], *s[1:]).astype(np.float32)) for s in shapes]
        with torch.no_grad():
            y = module(*xs)
        cases.append(([(n, x.numpy()) for n, x in zip(in_names, xs)], [("y", y.numpy())]))
    INDEX["models"].append({"name": name, "file": name + ".onnx", "ops": ops_of(path),
                            "cases": write_cases(name, cases)})


def torch_models():
    import torch
    from torch import nn
    torch.manual_seed(0)

    class Fn(nn.Module):
        def __init__(self, fn, params=()):
            super().__init__()
            self.fn = fn
            for i, p in enumerate(params):
                self.register_parameter("p%d" % i, nn.Parameter(p))

        def forward(self, *xs):
            return self.fn(self, *xs)

    def bn(mod):
        mod.running_mean.uniform_(-1, 1)
        mod.running_var.uniform_(0.5, 1.5)
        mod.weight.data.uniform_(0.5, 1.5)
        mod.bias.data.uniform_(-0.5, 0.5)
        return mod

    # Gemm / MatMul / Add
    torch_model("linear", nn.Linear(5, 3), [(2, 5)])
    torch_model("linear_nobias", nn.Linear(6, 4, bias=False), [(2, 6)])
    torch_model("linear_3d", nn.Linear(5, 3), [(2, 4, 5)])
    torch_model("mlp_softmax", nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10),
                                             nn.Softmax(dim=1)), [(2, 64)])
    torch_model("matmul_param", Fn(lambda m, x: torch.matmul(x, m.p0), [torch.randn(4, 5)]),
                [(2, 3, 4)])
    torch_model("matmul_batched", Fn(lambda m, x, y: torch.matmul(x, y)),
                [(2, 1, 3, 4), (3, 4, 2)], dynamic=False)
    torch_model("matmul_vec", Fn(lambda m, x: torch.matmul(x, m.p0), [torch.randn(4)]), [(3, 4)])
    torch_model("matmul_vec_left", Fn(lambda m, x: torch.matmul(m.p0, x), [torch.randn(3)]),
                [(2, 3, 4)], dynamic=False)
    # Conv
    torch_model("conv_basic", nn.Conv2d(3, 4, 3), [(2, 3, 6, 7)])
    torch_model("conv_pad_stride", nn.Conv2d(3, 6, 3, stride=2, padding=1), [(2, 3, 9, 8)])
    torch_model("conv_groups", nn.Conv2d(4, 8, 3, groups=2, padding=1), [(2, 4, 5, 5)])
    torch_model("conv_depthwise", nn.Conv2d(4, 4, 3, groups=4, bias=False), [(1, 4, 6, 6)])
    torch_model("conv_dilation", nn.Conv2d(2, 3, 3, dilation=2, padding=2), [(2, 2, 7, 9)])
    torch_model("conv_rect", nn.Conv2d(3, 2, (1, 3), stride=(2, 1), padding=(0, 1)),
                [(2, 3, 5, 6)])
    torch_model("conv_1x1", nn.Conv2d(4, 5, 1), [(2, 4, 3, 3)])
    torch_model("conv_1x1_stride", nn.Conv2d(4, 5, 1, stride=2), [(2, 4, 5, 5)])
    torch_model("conv_mixed", nn.Conv2d(6, 6, (3, 2), stride=(1, 2), padding=(1, 0),
                                        dilation=(2, 1), groups=3), [(2, 6, 7, 8)])
    torch_model("conv1d", nn.Conv1d(3, 4, 3, padding=1, stride=2), [(2, 3, 10)])
    # pools
    torch_model("maxpool", nn.MaxPool2d(2), [(2, 3, 6, 6)])
    torch_model("maxpool_ceil", nn.MaxPool2d(3, stride=2, ceil_mode=True), [(2, 2, 8, 8)])
    torch_model("maxpool_pad", nn.MaxPool2d(3, stride=2, padding=1), [(2, 2, 7, 7)])
    torch_model("maxpool_pad_ceil", nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
                [(1, 2, 8, 8)])
    # ceil_mode where the last window would start in the end padding: PyTorch drops it
    torch_model("maxpool_ceil_drop", nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True),
                [(2, 2, 7, 7)])
    torch_model("maxpool_dilation", nn.MaxPool2d(3, stride=1, dilation=2), [(2, 2, 7, 7)])
    torch_model("maxpool_rect", nn.MaxPool2d((2, 3), stride=(2, 1)), [(2, 2, 6, 7)])
    torch_model("maxpool1d", nn.MaxPool1d(3, stride=2, padding=1), [(2, 3, 9)])
    torch_model("avgpool", nn.AvgPool2d(2), [(2, 3, 6, 6)])
    torch_model("avgpool_ceil", nn.AvgPool2d(3, stride=2, ceil_mode=True), [(2, 2, 8, 8)])
    torch_model("avgpool_pad_excl", nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                [(2, 2, 7, 7)])
    torch_model("avgpool_pad_ceil_excl", nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                                      count_include_pad=False), [(1, 2, 8, 8)])
    torch_model("avgpool_ceil_drop", nn.AvgPool2d(2, stride=2, padding=1, ceil_mode=True,
                                                  count_include_pad=False), [(2, 2, 7, 7)])
    torch_model("avgpool_pad_incl_torch", nn.AvgPool2d(3, stride=2, padding=1), [(2, 2, 7, 7)])
    torch_model("avgpool_pad_ceil_incl_torch", nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
                [(1, 2, 8, 8)])
    torch_model("gap", nn.AdaptiveAvgPool2d(1), [(2, 5, 4, 6)])
    # normalisation, activations, dropout
    torch_model("batchnorm2d", bn(nn.BatchNorm2d(4)), [(2, 4, 3, 5)])
    torch_model("batchnorm1d", bn(nn.BatchNorm1d(6)), [(3, 6)])
    torch_model("relu", nn.ReLU(), [(2, 7)])
    torch_model("sigmoid", nn.Sigmoid(), [(2, 3, 4)])
    torch_model("tanh", nn.Tanh(), [(2, 9)])
    torch_model("dropout_eval", nn.Sequential(nn.Linear(5, 5), nn.Dropout(0.5), nn.ReLU()),
                [(2, 5)])
    # softmax: opset 13+ one axis, opset 11 (coerced to 2-D; torch transposes for dim != -1)
    torch_model("softmax_dim1", nn.Softmax(dim=1), [(2, 5)])
    torch_model("softmax_3d_mid", nn.Softmax(dim=1), [(2, 3, 4)])
    torch_model("softmax_3d_last", nn.Softmax(dim=-1), [(2, 3, 4)], opset=13)
    torch_model("softmax_opset11_last", nn.Softmax(dim=-1), [(2, 3, 4)], opset=11)
    torch_model("softmax_opset11_mid", nn.Softmax(dim=1), [(2, 3, 4)], opset=11)
    # shapes
    torch_model("flatten", nn.Flatten(), [(2, 2, 3, 4)])
    torch_model("reshape", Fn(lambda m, x: x.reshape(-1, 12)), [(2, 3, 4)])
    torch_model("view_static", Fn(lambda m, x: x.view(2, 6, 2) * 2), [(2, 3, 4)], dynamic=False)
    torch_model("permute", Fn(lambda m, x: x.permute(0, 2, 3, 1)), [(2, 3, 4, 5)])
    torch_model("transpose12", Fn(lambda m, x: x.transpose(1, 2)), [(2, 3, 4)])
    torch_model("cat", Fn(lambda m, x, y: torch.cat([x, y], dim=1)), [(2, 3, 4), (2, 2, 4)])
    torch_model("cat_param", Fn(lambda m, x: torch.cat([m.p0, x, x], dim=0),
                                [torch.randn(1, 3)]), [(2, 3)], dynamic=False)
    # broadcasting Add / Mul
    torch_model("add_bcast", Fn(lambda m, x, y: x + y), [(2, 3, 4), (2, 1, 4)])
    torch_model("mul_bcast", Fn(lambda m, x, y: x * y), [(2, 1, 4), (2, 3, 1)])
    torch_model("add_scalar", Fn(lambda m, x: x + 1.5), [(2, 3)])
    torch_model("mul_param", Fn(lambda m, x: x * m.p0 + m.p1,
                                [torch.randn(3, 1, 1), torch.randn(5)]), [(2, 3, 4, 5)])
    # a small CNN end to end
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), bn(nn.BatchNorm2d(4)), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
                        nn.Softmax(dim=1))
    torch_model("cnn", cnn, [(2, 1, 8, 8)], batches=(1, 4))
    # unsupported: view(x.size(0), -1) with a dynamic batch needs Shape/Gather/Unsqueeze
    path = os.path.join(OUT, "unsupported_shape.onnx")
    m = Fn(lambda m, x: x.view(x.size(0), -1))
    torch.onnx.export(m, (torch.randn(2, 3, 4),), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "b"}, "y": {0: "b"}}, opset_version=14)
    INDEX["unsupported"].append({"name": "unsupported_shape", "file": "unsupported_shape.onnx",
                                 "op": "Shape"})


# ---- onnx.helper models ----

def helper_model(name, nodes, inputs, outputs, inits=(), cases=(), opset=14, ops=None):
    """inputs/outputs: [(name, shape with None for dynamic)]; inits: [(name, array)];
    cases: [(inputs, outputs)] as for write_cases."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        [numpy_helper.from_array(a, n) for n, a in inits])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(model, path)
    if cases is None:
        INDEX["unsupported"].append({"name": name, "file": name + ".onnx", "op": ops})
        return
    INDEX["models"].append({"name": name, "file": name + ".onnx", "ops": ops_of(path),
                            "cases": write_cases(name, cases)})


def rnd(*shape):
    return np.asarray(RNG.randn(*shape), dtype=np.float32)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def helper_models():
    import torch
    import torch.nn.functional as F
    from onnx import helper
    H = helper.make_node

    # Gemm with transA/transB, alpha, beta and the forms of C
    for cname, cshape in (("col", (3, 1)), ("row", (4,)), ("scalar", ()), ("full", (3, 4))):
        B, C = rnd(4, 5), rnd(*cshape)
        x = rnd(5, 3)
        y = 0.5 * x.T @ B.T + 2.0 * C
        helper_model("gemm_trans_" + cname,
                     [H("Gemm", ["a", "B", "C"], ["y"], alpha=0.5, beta=2.0, transA=1, transB=1)],
                     [("a", [5, 3])], [("y", [3, 4])], [("B", B), ("C", C)],
                     [([("a", x)], [("y", y)])])
    B = rnd(3, 4)
    xs = [rnd(2, 3), rnd(5, 3)]
    helper_model("gemm_noc", [H("Gemm", ["a", "B"], ["y"], alpha=1.5)], [("a", [None, 3])],
                 [("y", [None, 4])], [("B", B)], [([("a", x)], [("y", 1.5 * x @ B)]) for x in xs])
    # Constant in each form
    v = rnd(2, 3)
    from onnx import numpy_helper
    x = rnd(2, 3)
    helper_model("constant_tensor",
                 [H("Constant", [], ["c"], value=numpy_helper.from_array(v)),
                  H("Add", ["x", "c"], ["y"])],
                 [("x", [2, 3])], [("y", [2, 3])], cases=[([("x", x)], [("y", x + v)])])
    helper_model("constant_floats",
                 [H("Constant", [], ["c"], value_floats=[1.0, -2.0, 0.5]),
                  H("Constant", [], ["d"], value_float=3.0),
                  H("Mul", ["x", "c"], ["t"]), H("Add", ["t", "d"], ["y"])],
                 [("x", [2, 3])], [("y", [2, 3])],
                 cases=[([("x", x)], [("y", x * np.float32([1, -2, 0.5]) + 3)])])
    x = rnd(2, 3, 4)
    helper_model("constant_ints_reshape",
                 [H("Constant", [], ["s"], value_ints=[-1, 6]), H("Reshape", ["x", "s"], ["y"])],
                 [("x", [2, 3, 4])], [("y", [4, 6])], cases=[([("x", x)], [("y", x.reshape(4, 6))])])
    # shape arithmetic folded at load: Concat of int64 constants, Mul/Add of int64
    helper_model("concat_shapes",
                 [H("Constant", [], ["a"], value_ints=[2]), H("Constant", [], ["b"], value_int=3),
                  H("Constant", [], ["two"], value_ints=[2]),
                  H("Mul", ["b", "two"], ["b2"]), H("Constant", [], ["one"], value_ints=[-1]),
                  H("Add", ["one", "b2"], ["c"]),
                  H("Concat", ["a", "c", "one"], ["shape"], axis=0),
                  H("Reshape", ["x", "shape"], ["y"])],
                 [("x", [2, 5, None])], [("y", [2, 5, None])],
                 cases=[([("x", x2)], [("y", x2.reshape(2, 5, -1))]) for x2 in [rnd(2, 5, 2), rnd(2, 5, 3)]])
    helper_model("reshape_zero",
                 [H("Constant", [], ["s"], value_ints=[0, -1]), H("Reshape", ["x", "s"], ["y"])],
                 [("x", [None, 3, 4])], [("y", [None, 12])],
                 cases=[([("x", x2)], [("y", x2.reshape(len(x2), -1))]) for x2 in [rnd(2, 3, 4), rnd(1, 3, 4)]])
    x = rnd(2, 3)
    helper_model("identity", [H("Identity", ["x"], ["y"])], [("x", [2, 3])], [("y", [2, 3])],
                 cases=[([("x", x)], [("y", x)])])
    x = rnd(2, 3, 4)
    helper_model("transpose_default", [H("Transpose", ["x"], ["y"])], [("x", [2, 3, 4])],
                 [("y", [4, 3, 2])], cases=[([("x", x)], [("y", x.transpose())])])
    x = rnd(2, 3, 4, 5)
    helper_model("transpose_perm", [H("Transpose", ["x"], ["y"], perm=[2, 0, 3, 1])],
                 [("x", [2, 3, 4, 5])], [("y", [4, 2, 5, 3])],
                 cases=[([("x", x)], [("y", x.transpose(2, 0, 3, 1))])])
    # Softmax: opset 11 coerces to 2-D at axis; opset 13 uses one axis
    x = rnd(2, 3, 4)
    helper_model("softmax11_axis1", [H("Softmax", ["x"], ["y"], axis=1)], [("x", [2, 3, 4])],
                 [("y", [2, 3, 4])], cases=[([("x", x)], [("y", softmax(x.reshape(2, 12), 1).reshape(2, 3, 4))])],
                 opset=11)
    helper_model("softmax11_default", [H("Softmax", ["x"], ["y"])], [("x", [2, 3, 4])],
                 [("y", [2, 3, 4])], cases=[([("x", x)], [("y", softmax(x.reshape(2, 12), 1).reshape(2, 3, 4))])],
                 opset=11)
    helper_model("softmax13_axis0", [H("Softmax", ["x"], ["y"], axis=0)], [("x", [2, 3, 4])],
                 [("y", [2, 3, 4])], cases=[([("x", x)], [("y", softmax(x, 0))])], opset=13)
    helper_model("softmax13_default", [H("Softmax", ["x"], ["y"])], [("x", [2, 3, 4])],
                 [("y", [2, 3, 4])], cases=[([("x", x)], [("y", softmax(x, -1))])], opset=13)
    # Dropout: opset 10 with an unused mask, opset 13 with ratio and training_mode inputs
    x = rnd(3, 4)
    helper_model("dropout10_mask", [H("Dropout", ["x"], ["y", "mask"], ratio=0.3)],
                 [("x", [3, 4])], [("y", [3, 4])], cases=[([("x", x)], [("y", x)])], opset=10)
    helper_model("dropout13", [H("Dropout", ["x", "r", "t"], ["y"])], [("x", [3, 4])],
                 [("y", [3, 4])], [("r", np.float32(0.2)), ("t", np.bool_(False))],
                 cases=[([("x", x)], [("y", x)])], opset=13)
    # Conv and pools with auto_pad, checked against torch with explicit padding
    def same_pads(n, k, s, d, upper):
        o = -(-n // s)
        total = max(0, (o - 1) * s + (k - 1) * d + 1 - n)
        a = total // 2 if upper else total - total // 2
        return a, total - a
    for mode in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        x, w, b = rnd(2, 3, 7, 6), rnd(4, 3, 4, 3), rnd(4)
        if mode == "VALID":
            pt = pb = pl = pr = 0
        else:
            pt, pb = same_pads(7, 4, 2, 1, mode == "SAME_UPPER")
            pl, pr = same_pads(6, 3, 2, 1, mode == "SAME_UPPER")
        ref = F.conv2d(F.pad(torch.from_numpy(x), (pl, pr, pt, pb)), torch.from_numpy(w),
                       torch.from_numpy(b), stride=2).numpy()
        helper_model("conv_auto_" + mode.lower(),
                     [H("Conv", ["x", "w", "b"], ["y"], auto_pad=mode, strides=[2, 2])],
                     [("x", [None, 3, 7, 6])], [("y", [None, 4, None, None])],
                     [("w", w), ("b", b)], [([("x", x)], [("y", ref)])])
        ref = F.max_pool2d(F.pad(torch.from_numpy(x), (pl, pr, pt, pb), value=-np.inf),
                           (4, 3), stride=2).numpy()
        helper_model("maxpool_auto_" + mode.lower(),
                     [H("MaxPool", ["x"], ["y"], auto_pad=mode, kernel_shape=[4, 3], strides=[2, 2])],
                     [("x", [None, 3, 7, 6])], [("y", [None, 3, None, None])],
                     cases=[([("x", x)], [("y", ref)])])
    # asymmetric explicit pads, no kernel_shape attribute, no bias
    x, w = rnd(1, 2, 5, 5), rnd(3, 2, 2, 2)
    ref = F.conv2d(F.pad(torch.from_numpy(x), (0, 2, 1, 0)), torch.from_numpy(w)).numpy()
    helper_model("conv_asym_pads", [H("Conv", ["x", "w"], ["y"], pads=[1, 0, 0, 2])],
                 [("x", [1, 2, 5, 5])], [("y", [1, 3, 5, 6])], [("w", w)],
                 [([("x", x)], [("y", ref)])])
    # AveragePool counting the padding (torch's export would add a Pad node instead)
    x = rnd(2, 3, 7, 7)
    ref = F.avg_pool2d(torch.from_numpy(x), 3, stride=2, padding=1, count_include_pad=True).numpy()
    helper_model("avgpool_pad_incl",
                 [H("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                    pads=[1, 1, 1, 1], count_include_pad=1)],
                 [("x", [2, 3, 7, 7])], [("y", [2, 3, 4, 4])], cases=[([("x", x)], [("y", ref)])])
    x = rnd(2, 3, 8, 8)
    ref = F.avg_pool2d(torch.from_numpy(x), 3, stride=2, padding=1, ceil_mode=True,
                       count_include_pad=True).numpy()
    helper_model("avgpool_pad_ceil_incl",
                 [H("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                    pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)],
                 [("x", [2, 3, 8, 8])], [("y", list(ref.shape))], cases=[([("x", x)], [("y", ref)])])
    # Pad (constant mode): opset 11+ inputs with a value and cropping, opset 10 attributes
    x = rnd(2, 3, 4)
    ref = np.pad(x, ((0, 0), (1, 2), (0, 0)), constant_values=0.5)[:, :, :-1]
    helper_model("pad11", [H("Pad", ["x", "p", "v"], ["y"], mode="constant")],
                 [("x", [2, 3, 4])], [("y", [2, 6, 3])],
                 [("p", np.int64([0, 1, 0, 0, 2, -1])), ("v", np.float32(0.5))],
                 [([("x", x)], [("y", ref)])], opset=13)
    helper_model("pad10", [H("Pad", ["x"], ["y"], pads=[1, 0, 0, 0, 0, 2])],
                 [("x", [2, 3, 4])], [("y", [3, 3, 6])],
                 cases=[([("x", x)], [("y", np.pad(x, ((1, 0), (0, 0), (0, 2)))) ])], opset=10)
    # GlobalAveragePool on a 1-D signal; BatchNormalization built by hand (opset 9 form)
    x = rnd(2, 3, 5)
    helper_model("gap_1d", [H("GlobalAveragePool", ["x"], ["y"])], [("x", [2, 3, 5])],
                 [("y", [2, 3, 1])], cases=[([("x", x)], [("y", x.mean(axis=2, keepdims=True))])])
    x = rnd(2, 3, 4)
    s, bb, mu, var = rnd(3), rnd(3), rnd(3), (RNG.rand(3) + 0.5).astype(np.float32)
    ref = ((x - mu[:, None]) / np.sqrt(var[:, None] + 1e-3) * s[:, None] + bb[:, None])
    helper_model("batchnorm_eps", [H("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                                     epsilon=1e-3)],
                 [("x", [2, 3, 4])], [("y", [2, 3, 4])],
                 [("s", s), ("b", bb), ("m", mu), ("v", var)], [([("x", x)], [("y", ref)])], opset=9)
    # MatMul 1-D by 1-D gives a scalar; Flatten at axis 0 and a negative axis
    a, v = rnd(4), rnd(4)
    helper_model("matmul_dot", [H("MatMul", ["x", "v"], ["y"])], [("x", [4])], [("y", [])],
                 [("v", v)], [([("x", a)], [("y", np.float32(a @ v))])])
    x = rnd(2, 3, 4)
    helper_model("flatten_axis0", [H("Flatten", ["x"], ["y"], axis=0)], [("x", [2, 3, 4])],
                 [("y", [1, 24])], cases=[([("x", x)], [("y", x.reshape(1, 24))])])
    helper_model("flatten_neg", [H("Flatten", ["x"], ["y"], axis=-1)], [("x", [2, 3, 4])],
                 [("y", [6, 4])], cases=[([("x", x)], [("y", x.reshape(6, 4))])])
    # two inputs by name, two outputs, a graph output that is a graph input
    x, z = rnd(2, 3), rnd(3)
    helper_model("two_in_two_out", [H("Mul", ["x", "z"], ["p"]), H("Sigmoid", ["p"], ["q"])],
                 [("x", [None, 3]), ("z", [3])], [("q", [None, 3]), ("p", [None, 3]), ("z", [3])],
                 cases=[([("x", x), ("z", z)], [("q", 1 / (1 + np.exp(-(x * z)))), ("p", x * z), ("z", z)])])
    # unsupported: Resize (refused by name)
    helper_model("unsupported_resize",
                 [H("Relu", ["x"], ["r"]),
                  H("Resize", ["r", "", "scales"], ["y"], mode="nearest"),
                  H("Tanh", ["y"], ["t"]), H("Floor", ["t"], ["u"])],
                 [("x", [1, 1, 2, 2])], [("u", [1, 1, 4, 4])],
                 [("scales", np.float32([1, 1, 2, 2]))], None, ops="Resize")


def digits_ref(model_pt, csv, out_in, out_ref):
    import torch
    from torch import nn
    rows = []
    with open(csv) as f:
        for line in f:
            line = line.strip()
            if line and (line[0].isdigit() or line[0] in "-."):
                rows.append([float(v) for v in line.split(",")[:64]])
    x = torch.tensor(rows, dtype=torch.float32)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    model.load_state_dict(torch.load(model_pt))
    model.eval()
    with torch.no_grad():
        y = torch.softmax(model(x / 16.0), dim=1)
    f32(x.numpy()).tofile(out_in)
    f32(y.numpy()).tofile(out_ref)


def main():
    global OUT
    if len(sys.argv) == 3 and sys.argv[1] == "models":
        OUT = sys.argv[2]
        os.makedirs(OUT, exist_ok=True)
        torch_models()
        helper_models()
        with open(os.path.join(OUT, "index.json"), "w") as f:
            json.dump(INDEX, f, indent=1)
        print("%d models, %d unsupported" % (len(INDEX["models"]), len(INDEX["unsupported"])))
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "digits-ref":
        digits_ref(*sys.argv[2:])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
