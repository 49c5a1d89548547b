#!/usr/bin/python3
# predict.py - reads a digits-c model.bin (format in README.md) with numpy alone and
# reports its accuracy on a digits CSV; proof that the format is as documented and a
# starting point for using the trained weights outside weft.
# Usage: /usr/bin/python3 predict.py model.bin digits-test.csv
import struct
import sys

import numpy as np


def load(path):
    b = open(path, "rb").read()
    if b[:8] != b"WEFTMLP1":
        raise ValueError("%s is not a digits-c model.bin" % path)
    (n,), off, layers = struct.unpack_from("<I", b, 8), 12, []
    for _ in range(n):
        i, o, act = struct.unpack_from("<III", b, off); off += 12
        w = np.frombuffer(b, "<f4", i * o, off).reshape(o, i); off += 4 * i * o
        bias = np.frombuffer(b, "<f4", o, off); off += 4 * o
        layers.append((w, bias, act))
    return layers


def predict(layers, x):              # x: (n, 64) pixel values 0..16
    a = x / 16.0
    for w, bias, act in layers:
        a = a @ w.T + bias
        if act == 1:                 # relu; 2 = softmax, which keeps the argmax
            a = np.maximum(a, 0)
    return a.argmax(axis=1)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: predict.py model.bin DIGITS.csv\n")
        return 1
    try:
        layers = load(sys.argv[1])
        d = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1, ndmin=2)
    except (OSError, ValueError, struct.error) as e:
        sys.stderr.write("predict: %s\n" % e)
        return 2
    pred = predict(layers, d[:, :64])
    print("accuracy=%.4f on %d samples" % ((pred == d[:, 64]).mean(), len(d)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
