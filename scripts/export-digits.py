#!/usr/bin/python3
# export-digits.py - writes scikit-learn's 8x8 handwritten digits (1797 samples,
# 64 pixel features 0..16) as OUTDIR/digits-train.csv and OUTDIR/digits-test.csv, the
# data the examples/digits-* learners train on. The split is stratified, 80/20 and
# seeded, so every export is byte-identical. Rows: a header, then 64 integers and the label.
# Usage: /usr/bin/python3 scripts/export-digits.py OUTDIR  (needs Debian's python3-sklearn)
import os
import sys


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: export-digits.py OUTDIR\n")
        return 1
    outdir = sys.argv[1]
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as e:
        sys.stderr.write("export-digits: scikit-learn is missing (%s); install Debian's "
                         "python3-sklearn and run this with /usr/bin/python3\n" % e)
        return 2
    digits = load_digits()
    x = digits.data.astype(int)
    y = digits.target.astype(int)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=42, stratify=y)
    os.makedirs(outdir, exist_ok=True)
    header = ",".join(["p%d" % i for i in range(64)] + ["label"]) + "\n"
    for name, xs, ys in (("digits-train.csv", x_train, y_train),
                         ("digits-test.csv", x_test, y_test)):
        path = os.path.join(outdir, name)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(header)
            for row, label in zip(xs, ys):
                f.write(",".join(str(int(v)) for v in row) + ",%d\n" % int(label))
        os.replace(tmp, path)
        print("wrote %s (%d rows)" % (path, len(ys)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
