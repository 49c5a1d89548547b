#!/usr/bin/env python3
"""tfevents.py - an independent writer and reader of TensorBoard event files,
in Python's standard library only (hand-encoded protobuf varints, its own
CRC-32C), so weft's C reader (src/tds/tfevents.c) is tested against bytes it
did not make, and benchmarked against what a collector without TensorFlow
would do (bench/tfevents.sh).

  tfevents.py write FILE [SPEC|-] [--append]
      SPEC: JSON lines, one event each (see EVENT SPEC below); - = stdin.
  tfevents.py read FILE [--quiet]
      Prints one JSON line per event with scalar values:
      {"step": N, "wall_time": W, "values": {"tag": "text"}}; then, on
      stderr, "events=N scalars=N corrupt=N skipped=N consumed=N".
      Exit 1 on a bad length checksum (the file cannot be re-framed).

EVENT SPEC (all keys optional):
  {"wall_time": 1.5, "step": 3,
   "file_version": "brain.Event:2",           # the first record TF writes
   "graph_def": "text",                       # bytes of a (fake) graph
   "values": [VALUE, ...]}                    # a Summary
  {"raw_hex": "0a0b..."}                      # any record payload
VALUE:
  {"tag": "loss", "simple_value": 0.5}        # TF1 / torch add_scalar
  {"tag": "acc", "plugin": "scalars",         # TF2 tf.summary.scalar
   "tensor": {"dtype": "float", "value": 0.9, # or "values": [..] with "shape"
              "content": true,                # raw tensor_content, else *_val
              "packed": true, "shape": []}}
  {"tag": "h", "histogram": [1, 2, 3]}        # HistogramProto
  {"tag": "img", "image": "bytes"}            # Summary.Image
  {"tag": "t", "text": "hello"}               # DT_STRING tensor, plugin text
"""
import json
import math
import struct
import sys

# --- CRC-32C (Castagnoli), reflected, polynomial 0x82F63B78 ----------------
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data):
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(payload):
    """One TFRecord: length, masked CRC of the length, data, masked CRC."""
    head = struct.pack("<Q", len(payload))
    return head + struct.pack("<I", masked_crc(head)) + payload + struct.pack("<I", masked_crc(payload))


# --- protobuf encoding -------------------------------------------------------
def varint(n):
    if n < 0:
        n += 1 << 64  # negative int32/int64: ten bytes, two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_varint(field, n):
    return key(field, 0) + varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def f_double(field, v):
    return key(field, 1) + struct.pack("<d", v)


def f_float(field, v):
    return key(field, 5) + struct.pack("<f", v)


# TensorFlow's DataType numbers, the tensor_content format, the *_val field
# number and its wire encoding ("f": fixed32 float, "d": fixed64, "v": varint)
DTYPES = {
    "float": (1, "<f", 5, "f"), "double": (2, "<d", 6, "d"), "int32": (3, "<i", 7, "v"),
    "uint8": (4, "<B", 7, "v"), "int16": (5, "<h", 7, "v"), "int8": (6, "<b", 7, "v"),
    "int64": (9, "<q", 10, "v"), "bfloat16": (14, None, 13, "v"), "uint16": (17, "<H", 7, "v"),
    "half": (19, "<e", 13, "v"), "uint32": (22, "<I", 16, "v"), "uint64": (23, "<Q", 17, "v"),
    "bool": (10, "<?", 11, "v"), "string": (7, None, 8, "s"),
}


def bf16_bits(v):
    return struct.unpack("<I", struct.pack("<f", v))[0] >> 16


def half_bits(v):
    return struct.unpack("<H", struct.pack("<e", v))[0]


def tensor_proto(spec):
    dtype = spec.get("dtype", "float")
    num, fmt, vfield, wire = DTYPES[dtype]
    values = spec["values"] if "values" in spec else [spec["value"]]
    shape = spec.get("shape", [] if "value" in spec else [len(values)])
    out = f_varint(1, num)
    out += f_bytes(2, b"".join(f_bytes(2, f_varint(1, d)) for d in shape))
    if dtype == "string":
        return out + b"".join(f_bytes(8, v) for v in values)
    if spec.get("content"):
        if dtype == "bfloat16":
            raw = b"".join(struct.pack("<H", bf16_bits(v)) for v in values)
        else:
            raw = b"".join(struct.pack(fmt, v) for v in values)
        return out + f_bytes(4, raw)
    if dtype == "half":
        values = [half_bits(v) for v in values]
    elif dtype == "bfloat16":
        values = [bf16_bits(v) for v in values]
    elif dtype == "bool":
        values = [1 if v else 0 for v in values]
    if wire == "f":
        items = [struct.pack("<f", v) for v in values]
    elif wire == "d":
        items = [struct.pack("<d", v) for v in values]
    else:
        items = [varint(int(v)) for v in values]
    if spec.get("packed", True):
        return out + f_bytes(vfield, b"".join(items))
    wt = {"f": 5, "d": 1, "v": 0}[wire]
    return out + b"".join(key(vfield, wt) + it for it in items)


def metadata(plugin):
    return f_bytes(1, f_bytes(1, plugin))  # SummaryMetadata.plugin_data.plugin_name


def summary_value(v):
    out = f_bytes(1, v["tag"])
    if "simple_value" in v:
        out += f_float(2, v["simple_value"])
    elif "tensor" in v:
        out += f_bytes(8, tensor_proto(v["tensor"]))
    elif "histogram" in v:
        h = v["histogram"]
        body = f_double(1, min(h)) + f_double(2, max(h)) + f_double(3, len(h)) + f_double(4, sum(h))
        body += f_bytes(6, b"".join(struct.pack("<d", x) for x in sorted(h)))
        body += f_bytes(7, b"".join(struct.pack("<d", 1.0) for _ in h))
        out += f_bytes(5, body)
    elif "image" in v:
        out += f_bytes(4, f_varint(1, 1) + f_varint(2, 1) + f_varint(3, 1) + f_bytes(4, v["image"]))
    elif "text" in v:
        out += f_bytes(8, tensor_proto({"dtype": "string", "value": v["text"]}))
        v = dict(v, plugin=v.get("plugin", "text"))
    if "plugin" in v:
        out += f_bytes(9, metadata(v["plugin"]))
    return out


def event(spec):
    if "raw_hex" in spec:
        return bytes.fromhex(spec["raw_hex"])
    out = b""
    if "wall_time" in spec:
        out += f_double(1, spec["wall_time"])
    if spec.get("step"):
        out += f_varint(2, spec["step"])
    if "file_version" in spec:
        out += f_bytes(3, spec["file_version"])
    if "graph_def" in spec:
        out += f_bytes(4, spec["graph_def"])
    if "values" in spec:
        out += f_bytes(5, b"".join(f_bytes(1, summary_value(v)) for v in spec["values"]))
    return out


# --- protobuf decoding (wire level) --------------------------------------------
class DecodeError(Exception):
    pass


def read_varint(buf, pos, end):
    n = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise DecodeError("bad varint")
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7


def fields(buf, pos=0, end=None):
    """Yields (field, wire, value) of one message; value is an int for
    varints, bytes for fixed and length-delimited fields."""
    end = len(buf) if end is None else end
    while pos < end:
        k, pos = read_varint(buf, pos, end)
        field, wire = k >> 3, k & 7
        if field == 0:
            raise DecodeError("field 0")
        if wire == 0:
            v, pos = read_varint(buf, pos, end)
        elif wire == 1:
            if pos + 8 > end:
                raise DecodeError("truncated fixed64")
            v, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            if pos + 4 > end:
                raise DecodeError("truncated fixed32")
            v, pos = buf[pos:pos + 4], pos + 4
        elif wire == 2:
            n, pos = read_varint(buf, pos, end)
            if n > end - pos:
                raise DecodeError("truncated bytes")
            v, pos = buf[pos:pos + n], pos + n
        else:
            raise DecodeError("wire type %d" % wire)
        yield field, wire, v


def signed(n, bits):
    n &= (1 << bits) - 1
    return n - (1 << bits) if n >> (bits - 1) else n


def repeated(wire, v, kind):
    """The numbers of a repeated field occurrence, packed or not."""
    if wire == 2:
        if kind in ("f", "d"):
            size = 4 if kind == "f" else 8
            if len(v) % size:
                raise DecodeError("packed length")
            return list(struct.unpack("<%d%s" % (len(v) // size, kind), v))
        out, pos = [], 0
        while pos < len(v):
            n, pos = read_varint(v, pos, len(v))
            out.append(n)
        return out
    if kind == "f" and wire == 5:
        return [struct.unpack("<f", v)[0]]
    if kind == "d" and wire == 1:
        return [struct.unpack("<d", v)[0]]
    if kind == "v" and wire == 0:
        return [v]
    raise DecodeError("wire type of a repeated field")


def short_float(v):
    """Shortest text that reads back as the same float32."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    for p in range(1, 10):
        s = "%.*g" % (p, v)
        if struct.unpack("<f", struct.pack("<f", float(s)))[0] == v:
            return s
    return "%.9g" % v


def short_double(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def half_value(bits):
    return struct.unpack("<e", struct.pack("<H", bits & 0xFFFF))[0]


def bf16_value(bits):
    return struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0]


INT_TYPES = {3: 32, 4: -8, 5: 16, 6: 8, 9: 64, 17: -16, 22: -32, 23: -64}  # bits; negative: unsigned
SIZES = {1: 4, 2: 8, 3: 4, 4: 1, 5: 2, 6: 1, 9: 8, 14: 2, 17: 2, 19: 2, 22: 4, 23: 8}
VAL_FIELD = {1: (5, "f"), 2: (6, "d"), 9: (10, "v"), 14: (13, "v"), 19: (13, "v"), 22: (16, "v"), 23: (17, "v")}


def tensor_scalar(buf):
    """Text of a one-element numeric tensor, or None."""
    dtype, shape_ok, content, vals = 0, True, b"", {}
    for f, w, v in fields(buf):
        if f == 1 and w == 0:
            dtype = signed(v, 32)
        elif f == 2 and w == 2:
            for sf, sw, sv in fields(v):
                if sf == 3 and sw == 0 and sv:
                    shape_ok = False
                elif sf == 2 and sw == 2:
                    size = 0
                    for df, dw, dv in fields(sv):
                        if df == 1 and dw == 0:
                            size = signed(dv, 64)
                    if size != 1:
                        shape_ok = False
        elif f == 4 and w == 2:
            content = v
        elif f in (5, 6, 7, 10, 13, 16, 17):
            kind = "f" if f == 5 else "d" if f == 6 else "v"
            vals.setdefault(f, []).extend(repeated(w, v, kind))
    if dtype not in SIZES or not shape_ok:
        return None
    field, _ = VAL_FIELD.get(dtype, (7, "v"))
    if content:
        if len(content) != SIZES[dtype]:
            return None
        if dtype == 1:
            return short_float(struct.unpack("<f", content)[0])
        if dtype == 2:
            return short_double(struct.unpack("<d", content)[0])
        if dtype in (14, 19):
            bits = struct.unpack("<H", content)[0]
            return short_float(half_value(bits) if dtype == 19 else bf16_value(bits))
        bits = INT_TYPES[dtype]
        n = int.from_bytes(content, "little", signed=bits > 0)
        return str(n)
    got = vals.get(field, [])
    if len(got) != 1:
        return None
    x = got[0]
    if dtype == 1:
        return short_float(x)
    if dtype == 2:
        return short_double(x)
    if dtype in (14, 19):
        return short_float(half_value(x) if dtype == 19 else bf16_value(x))
    bits = INT_TYPES[dtype]
    return str(signed(x, bits) if bits > 0 else x & ((1 << -bits) - 1))


def event_scalars(payload):
    """(step, wall_time, {tag: text}) of one Event payload."""
    step, wall, values = 0, 0.0, {}
    for f, w, v in fields(payload):
        if f == 1 and w == 1:
            wall = struct.unpack("<d", v)[0]
        elif f == 2 and w == 0:
            step = signed(v, 64)
        elif f == 5 and w == 2:
            for sf, sw, sv in fields(v):
                if sf != 1 or sw != 2:
                    continue
                tag, text, plugin, tensor = "", None, "", None
                for vf, vw, vv in fields(sv):
                    if vf == 1 and vw == 2:
                        tag = vv.decode("utf-8", "replace")
                    elif vf == 2 and vw == 5:
                        text, tensor = short_float(struct.unpack("<f", vv)[0]), None
                    elif vf == 8 and vw == 2:
                        text, tensor = None, vv
                    elif vf in (3, 4, 5, 6):
                        text, tensor = None, None
                    elif vf == 9 and vw == 2:
                        for mf, mw, mv in fields(vv):
                            if mf == 1 and mw == 2:
                                for pf, pw, pv in fields(mv):
                                    if pf == 1 and pw == 2:
                                        plugin = pv.decode("utf-8", "replace")
                if tensor is not None and plugin in ("", "scalars"):
                    text = tensor_scalar(tensor)
                if tag and text is not None:
                    values[tag] = text
    return step, wall, values


def read_records(data, stats):
    """Yields the payloads of the complete records with good CRCs."""
    pos = 0
    while len(data) - pos >= 12:
        head = data[pos:pos + 8]
        (n,) = struct.unpack("<Q", head)
        if struct.unpack("<I", data[pos + 8:pos + 12])[0] != masked_crc(head) or n > 64 << 20:
            stats["consumed"] = pos
            raise DecodeError("bad length checksum in the record at byte %d" % pos)
        if len(data) - pos - 12 < n + 4:
            break
        payload = data[pos + 12:pos + 12 + n]
        good = struct.unpack("<I", data[pos + 12 + n:pos + 16 + n])[0] == masked_crc(payload)
        pos += n + 16
        stats["consumed"] = pos
        if not good:
            stats["corrupt"] += 1
            continue
        yield payload


def cmd_read(path, quiet):
    with open(path, "rb") as f:
        data = f.read()
    stats = {"events": 0, "scalars": 0, "corrupt": 0, "skipped": 0, "consumed": 0}
    out = sys.stdout
    rc = 0
    try:
        for payload in read_records(data, stats):
            try:
                step, wall, values = event_scalars(payload)
            except (DecodeError, struct.error):
                stats["corrupt"] += 1
                continue
            stats["events"] += 1
            if not values:
                stats["skipped"] += 1
                continue
            stats["scalars"] += len(values)
            if not quiet:
                out.write(json.dumps({"step": step, "wall_time": wall, "values": values}) + "\n")
    except DecodeError as ex:
        print("tfevents.py: %s: %s" % (path, ex), file=sys.stderr)
        rc = 1
    print(" ".join("%s=%d" % kv for kv in stats.items()), file=sys.stderr)
    return rc


def cmd_write(path, spec, append):
    src = sys.stdin if spec in (None, "-") else open(spec)
    with open(path, "ab" if append else "wb") as f:
        for line in src:
            line = line.strip()
            if line:
                f.write(frame(event(json.loads(line))))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "write":
        rest = [a for a in argv[1:] if a != "--append"]
        return cmd_write(rest[0], rest[1] if len(rest) > 1 else None, "--append" in argv)
    if len(argv) >= 2 and argv[0] == "read":
        return cmd_read(argv[1], "--quiet" in argv)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
