#!/usr/bin/env python3
# server.py - a custom model server for weft, in Python's standard library alone: it
# serves Seldon's internal microservice API (POST /predict, GET /health/ping, ...) for
# the digits MLP that examples/digits-c (model.bin) or examples/digits-pytorch (model.pt)
# left in a training job's results, found through FfDL's variables (MODEL_DIR, or
# BUCKET_ENDPOINT_URL + BUCKET_NAME + TRAINING_ID). See README.md next to this file.
import io
import json
import math
import os
import pickle
import signal
import struct
import sys
import threading
import urllib.parse
import zipfile
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXIT_BAD_CONFIG = 2   # no model, unreadable model, bad variable
EXIT_PORT_IN_USE = 3  # the port is taken: weft picks another one and starts again
N_IN = 64


def log(msg):
    sys.stderr.write("model-server: %s\n" % msg)
    sys.stderr.flush()


def fail(msg, code=EXIT_BAD_CONFIG):
    log(msg)
    sys.exit(code)


# ---- the model: a stack of dense layers, a = act(W a + b), after a = x / 16 ----

class Model:
    def __init__(self, layers, source):
        self.layers = layers      # [(weights as rows, bias, activation)], "relu" | "softmax" | None
        self.source = source
        self.n_in = len(layers[0][0][0])
        self.n_out = len(layers[-1][1])

    def describe(self):
        sizes = [self.n_in] + [len(b) for _, b, _ in self.layers]
        return "%s (%s)" % (self.source, "-".join(str(s) for s in sizes))

    def predict_row(self, x):
        a = [v / 16.0 for v in x]
        for w, b, act in self.layers:
            a = [sum(wi * ai for wi, ai in zip(row, a)) + bi for row, bi in zip(w, b)]
            if act == "relu":
                a = [v if v > 0 else 0.0 for v in a]
        # every digits model ends in a softmax (digits-c stores it, PyTorch's model
        # leaves it to the loss): the answer is the probability of each class
        m = max(a)
        e = [math.exp(v - m) for v in a]
        s = sum(e)
        return [v / s for v in e]


def load_model_bin(path):
    """digits-c's model.bin (format in examples/digits-c/README.md)."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:8] != b"WEFTMLP1":
        raise ValueError("%s is not a digits-c model.bin (no WEFTMLP1 magic)" % path)
    try:
        (n,) = struct.unpack_from("<I", b, 8)
        off, layers = 12, []
        if not 1 <= n <= 64:
            raise ValueError("%s: %d layers" % (path, n))
        for k in range(n):
            i, o, act = struct.unpack_from("<III", b, off)
            off += 12
            if i * o > 1 << 26 or (layers and len(layers[-1][1]) != i):
                raise ValueError("%s: layer %d has a bad shape %dx%d" % (path, k + 1, o, i))
            flat = struct.unpack_from("<%df" % (i * o), b, off)
            off += 4 * i * o
            bias = list(struct.unpack_from("<%df" % o, b, off))
            off += 4 * o
            w = [list(flat[r * i:(r + 1) * i]) for r in range(o)]
            layers.append((w, bias, {1: "relu", 2: "softmax"}.get(act)))
    except struct.error:
        raise ValueError("%s is truncated" % path)
    if off != len(b):
        raise ValueError("%s has %d bytes after the last layer" % (path, len(b) - off))
    return Model(layers, path)


# torch.save writes a zip: <name>/data.pkl (a pickle that names tensors) and
# <name>/data/<key> (each storage's raw little-endian bytes). This unpickler
# rebuilds the tensors as nested lists and refuses every other class, so loading a
# model never runs code from the file and does not need torch.
_STORAGE = {"FloatStorage": "f", "DoubleStorage": "d", "HalfStorage": "e", "LongStorage": "q",
            "IntStorage": "i", "ShortStorage": "h", "CharStorage": "b", "ByteStorage": "B"}


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.size, self.values = tuple(size), []
        fmt, raw = storage
        width = struct.calcsize("<" + fmt)
        n = 1
        for s in size:
            n *= s
        for flat in range(n):
            pos, rest = offset, flat
            for dim in reversed(range(len(size))):
                pos += (rest % size[dim]) * stride[dim]
                rest //= size[dim]
            self.values.append(struct.unpack_from("<" + fmt, raw, pos * width)[0])

    def rows(self):
        if len(self.size) != 2:
            raise ValueError("a weight of shape %s (want 2 dimensions)" % (list(self.size),))
        c = self.size[1]
        return [self.values[r * c:(r + 1) * c] for r in range(self.size[0])]


class _TorchUnpickler(pickle.Unpickler):
    def __init__(self, f, zf, prefix):
        super().__init__(f)
        self.zf, self.prefix = zf, prefix

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return lambda storage, offset, size, stride, *rest: _Tensor(storage, offset, size, stride)
        if module == "torch._utils" and name == "_rebuild_parameter":
            return lambda data, *rest: data
        if module == "torch" and name in _STORAGE:
            return _STORAGE[name]
        raise pickle.UnpicklingError("model.pt names %s.%s, which this server does not load"
                                     % (module, name))

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unknown persistent id %r" % (pid,))
        fmt = pid[1]
        if fmt not in _STORAGE.values():
            raise pickle.UnpicklingError("unsupported storage %r" % (fmt,))
        return fmt, self.zf.read("%sdata/%s" % (self.prefix, pid[2]))


def load_model_pt(path):
    """digits-pytorch's model.pt: the state_dict of Sequential(Linear, ReLU, Linear, ...)."""
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError("%s is not a torch.save zip file (saved by torch < 1.6?)" % path)
    with zf:
        pkl = [n for n in zf.namelist() if n.endswith("data.pkl")]
        if len(pkl) != 1:
            raise ValueError("%s holds no data.pkl" % path)
        try:
            sd = _TorchUnpickler(io.BytesIO(zf.read(pkl[0])), zf, pkl[0][:-len("data.pkl")]).load()
        except (pickle.UnpicklingError, EOFError, KeyError, struct.error, TypeError,
                AttributeError) as e:
            raise ValueError("%s: %s" % (path, e))
    if not isinstance(sd, dict):
        raise ValueError("%s holds a %s, not a state_dict" % (path, type(sd).__name__))
    # Sequential names its layers "<index>.weight"/"<index>.bias"; a ReLU sits between
    # consecutive Linear layers in the digits models
    idx = sorted({int(k.split(".")[0]) for k in sd if k.split(".")[0].isdigit()})
    layers = []
    for n, i in enumerate(idx):
        w, b = sd.get("%d.weight" % i), sd.get("%d.bias" % i)
        if not isinstance(w, _Tensor) or not isinstance(b, _Tensor):
            raise ValueError("%s: layer %d lacks a weight or bias tensor" % (path, i))
        layers.append((w.rows(), list(b.values), "relu" if n + 1 < len(idx) else None))
    if not layers:
        raise ValueError("%s: no '<n>.weight' tensors (keys: %s)" % (path, ", ".join(list(sd)[:8])))
    return Model(layers, path)


def model_dir_from_env():
    """MODEL_DIR if set, else <BUCKET_ENDPOINT_URL root>/<BUCKET_NAME>/<TRAINING_ID>."""
    d = os.environ.get("MODEL_DIR", "")
    if d:
        return d
    url = os.environ.get("BUCKET_ENDPOINT_URL", "")
    bucket = os.environ.get("BUCKET_NAME", "")
    tid = os.environ.get("TRAINING_ID", "")
    if not url or not bucket or not tid:
        fail("no model: set MODEL_DIR, or BUCKET_ENDPOINT_URL, BUCKET_NAME and TRAINING_ID "
             "(missing: %s)" % ", ".join(n for n, v in (("BUCKET_ENDPOINT_URL", url),
                                                       ("BUCKET_NAME", bucket),
                                                       ("TRAINING_ID", tid)) if not v))
    u = urllib.parse.urlparse(url)
    if u.scheme == "file":
        if u.netloc not in ("", "localhost"):
            fail("BUCKET_ENDPOINT_URL=%s: a file URL names a local directory (file:///path)" % url)
        root = urllib.parse.unquote(u.path)
    elif u.scheme == "" and url.startswith("/"):
        root = url
    else:
        fail("BUCKET_ENDPOINT_URL=%s: this example reads weft's local object store only "
             "(file:///path/to/objects or /path/to/objects); S3 endpoints are not supported" % url)
    if "/" in bucket or bucket in (".", ".."):
        fail("BUCKET_NAME=%s is not a bucket name" % bucket)
    if "/" in tid or tid in (".", ".."):
        fail("TRAINING_ID=%s is not a training id" % tid)
    root = root.rstrip("/") or "/"
    # the endpoint names the store's root; a URL that already ends in the bucket works too
    if not os.path.isdir(os.path.join(root, bucket)) and os.path.basename(root) == bucket:
        return os.path.join(root, tid)
    return os.path.join(root, bucket, tid)


def load_model():
    d = model_dir_from_env()
    if not os.path.isdir(d):
        fail("model directory %s does not exist (is TRAINING_ID right, and did the job "
             "store its results?)" % d)
    name = None
    try:
        with open(os.path.join(d, "results.json")) as f:
            name = json.load(f).get("model")
    except (OSError, ValueError, AttributeError):
        pass
    # results.json names the model file; model.bin (digits-c) and model.pt (digits-pytorch)
    # are the formats this server reads (not model.onnx: weft runs that natively)
    candidates = [name] if isinstance(name, str) and name.endswith((".bin", ".pt")) else []
    candidates += [c for c in ("model.bin", "model.pt") if c not in candidates]
    for c in candidates:
        p = os.path.join(d, os.path.basename(c))
        if not os.path.isfile(p):
            continue
        try:
            return load_model_pt(p) if p.endswith(".pt") else load_model_bin(p)
        except (OSError, ValueError) as e:
            fail("cannot load %s: %s" % (p, e))
    fail("%s holds no %s (the results of examples/digits-c or examples/digits-pytorch)"
         % (d, " or ".join(candidates)))


# ---- Seldon's internal microservice API ----

class BadRequest(Exception):
    pass


def rows_from_message(msg, n_in):
    """Returns (rows, 'ndarray' | 'tensor') from a SeldonMessage."""
    if not isinstance(msg, dict):
        raise BadRequest("the body is not a JSON object (want a SeldonMessage)")
    data = msg.get("data")
    if not isinstance(data, dict):
        others = [k for k in ("jsonData", "strData", "binData") if k in msg]
        raise BadRequest("this model takes data.ndarray or data.tensor%s"
                         % (" (not %s)" % others[0] if others else ""))
    if "ndarray" in data:
        nd = data["ndarray"]
        if not isinstance(nd, list) or not nd:
            raise BadRequest("data.ndarray must be a non-empty list")
        if not isinstance(nd[0], list):
            nd = [nd]           # one row given flat
        rows, kind = [], "ndarray"
        for i, r in enumerate(nd):
            flat = flatten(r, "data.ndarray[%d]" % i)
            if len(flat) != n_in:
                raise BadRequest("data.ndarray[%d] has %d values (want %d)" % (i, len(flat), n_in))
            rows.append(flat)
    elif "tensor" in data:
        t = data["tensor"]
        if not isinstance(t, dict):
            raise BadRequest("data.tensor must be an object {shape, values}")
        shape, values = t.get("shape"), t.get("values")
        if (not isinstance(shape, list) or not shape or
                not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)):
            raise BadRequest("data.tensor.shape must be a list of positive integers")
        if not isinstance(values, list):
            raise BadRequest("data.tensor.values must be a list of numbers")
        flat = flatten(values, "data.tensor.values")
        total = 1
        for s in shape:
            total *= s
        if total != len(flat):
            raise BadRequest("data.tensor.shape %s holds %d values but values has %d"
                             % (shape, total, len(flat)))
        per = total // shape[0] if len(shape) > 1 else total
        if per != n_in:
            raise BadRequest("data.tensor.shape %s: each row must hold %d values" % (shape, n_in))
        rows = [flat[i * per:(i + 1) * per] for i in range(total // per)]
        kind = "tensor"
    else:
        raise BadRequest("data holds neither ndarray nor tensor")
    return rows, kind


def flatten(v, where):
    out = []
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(reversed(x))
        elif isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
            out.append(float(x))
        else:
            raise BadRequest("%s holds %s (want finite numbers)" % (where, json.dumps(x)[:40]))
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep connections alive: weft reuses them
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stall
    server_version = "weft-model-server/1"

    def log_message(self, fmt, *args):
        if self.server.access_log:
            log("%s %s" % (self.address_string(), fmt % args))

    def answer(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def failure(self, code, info, reason):
        self.answer(code, json.dumps({"status": {"code": code, "info": info, "reason": reason,
                                                 "status": "FAILURE"}}))

    def read_body(self):
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = -1
        if n < 0:
            raise BadRequest("bad Content-Length")
        if n > self.server.max_body:
            self.close_connection = True
            raise OverflowError(n)
        body = self.rfile.read(n)
        ctype = self.headers.get("Content-Type", "")
        # Seldon's wrapper also takes a form field json=...; curl -d sends JSON as a form
        if ctype.startswith("application/x-www-form-urlencoded") and body.startswith(b"json="):
            return urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("json", [""])[0]
        return body

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        m = self.server.model
        if path == "/health/ping":
            self.answer(200, "pong", "text/plain")
        elif path == "/health/status":
            self.answer(200, json.dumps({"status": "ok", "model": m.describe()}))
        elif path == "/metadata":
            self.answer(200, json.dumps({
                "name": os.environ.get("PREDICTIVE_UNIT_ID", "digits"), "versions": ["1"],
                "platform": "weft-model-server",
                "inputs": [{"name": "pixels", "datatype": "FP64", "shape": [-1, m.n_in]}],
                "outputs": [{"name": "probabilities", "datatype": "FP64",
                             "shape": [-1, m.n_out]}]}))
        else:
            self.failure(404, "no such endpoint: GET %s" % path, "NOT_FOUND")

    do_HEAD = do_GET

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        try:
            body = self.read_body()
        except OverflowError as e:
            return self.failure(413, "the body has %d bytes, over the limit of %d (MAX_BODY)"
                                % (e.args[0], self.server.max_body), "TOO_LARGE")
        except BadRequest as e:
            return self.failure(400, str(e), "MICROSERVICE_BAD_DATA")
        if path == "/send-feedback":
            return self.answer(200, "{}")
        if path != "/predict":
            return self.failure(404, "no such endpoint: POST %s" % path, "NOT_FOUND")
        m = self.server.model
        try:
            try:
                msg = json.loads(body, parse_constant=lambda c: float("nan"))
            except (ValueError, UnicodeDecodeError) as e:
                raise BadRequest("the body is not JSON: %s" % e)
            rows, kind = rows_from_message(msg, m.n_in)
        except BadRequest as e:
            return self.failure(400, str(e), "MICROSERVICE_BAD_DATA")
        try:
            probs = [m.predict_row(r) for r in rows]
        except (OverflowError, ValueError) as e:   # a model with inf/nan weights
            return self.failure(500, "the model failed: %s" % e, "MICROSERVICE_INTERNAL_ERROR")
        names = ["t:%d" % i for i in range(m.n_out)]
        if kind == "tensor":
            data = {"names": names, "tensor": {"shape": [len(probs), m.n_out],
                                               "values": [v for p in probs for v in p]}}
        else:
            data = {"names": names, "ndarray": probs}
        try:
            out = json.dumps({"meta": {}, "data": data}, allow_nan=False)
        except ValueError:
            return self.failure(500, "the model produced a value that is not finite",
                                "MICROSERVICE_INTERNAL_ERROR")
        self.answer(200, out)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128      # the default listen backlog of 5 drops bursts of connects


def env_int(name, default, lo, hi):
    s = os.environ.get(name, "")
    if s == "":
        return default
    try:
        v = int(s)
    except ValueError:
        v = lo - 1
    if not lo <= v <= hi:
        fail('%s="%s" is not a whole number from %d to %d' % (name, s, lo, hi))
    return v


def main():
    # Seldon names the port PREDICTIVE_UNIT_SERVICE_PORT; PORT is the common fallback
    port_var = "PREDICTIVE_UNIT_SERVICE_PORT" if os.environ.get("PREDICTIVE_UNIT_SERVICE_PORT") \
        else "PORT"
    port = env_int(port_var, 9000, 1, 65535)
    host = os.environ.get("HOST", "127.0.0.1")
    max_body = env_int("MAX_BODY", 64 << 20, 1, 1 << 40)
    model = load_model()
    try:
        srv = Server((host, port), Handler)
    except OSError as e:
        fail("cannot listen on %s:%d: %s" % (host, port, e.strerror or e),
             EXIT_PORT_IN_USE if getattr(e, "errno", 0) == 98 else EXIT_BAD_CONFIG)
    srv.model, srv.max_body = model, max_body
    srv.access_log = os.environ.get("ACCESS_LOG", "") not in ("", "0")

    def on_term(sig, frame):
        # shutdown() waits for serve_forever, so it runs on another thread
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    log("loaded %s; listening on %s:%d" % (model.describe(), host, port))
    srv.serve_forever(poll_interval=0.5)
    srv.server_close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
