#!/usr/bin/python3
# train.py - weft's PyTorch example learner: the same 64-64-10 MLP (ReLU, softmax, Adam,
# mini-batches) on the 8x8 digits data set as examples/digits-c, written with torch.
# It reads $DATA_DIR, prints one line per epoch, checkpoints every epoch into
# $CHECKPOINT_DIR (torch.save to a temporary file, then os.replace), resumes from it after
# a halt, and leaves model.pt, model.onnx (torch.onnx.export: raw pixels in, probabilities
# out, for weft's native serving) + results.json in $RESULT_DIR. Run by /usr/bin/python3.
import json
import math
import os
import signal
import sys
import time

EXIT_BAD_INPUT = 2
N_IN, N_HID, N_OUT = 64, 64, 10
CHECKPOINT_FORMAT = 1

stop_signal = 0


def fail(msg):
    sys.stderr.write("digits-train: %s\n" % msg)
    sys.exit(EXIT_BAD_INPUT)


def env_number(name, default, lo, hi, whole=False):
    s = os.environ.get(name, "")
    if s == "":
        return default
    try:
        v = float(s)
    except ValueError:
        v = float("nan")
    if not (lo <= v <= hi):
        fail('%s="%s" is not a number from %g to %g' % (name, s, lo, hi))
    if whole:
        if v != math.floor(v):
            fail('%s="%s" is not a whole number' % (name, s))
        return int(v)
    return v


def load_csv(path):
    """Rows of 64 pixel values 0..16 then a label 0..9; a header line is skipped."""
    xs, ys = [], []
    try:
        f = open(path)
    except OSError as e:
        fail("cannot open %s: %s (set DATA_DIR to the directory holding digits-train.csv "
             "and digits-test.csv)" % (path, e.strerror))
    with f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or (lineno == 1 and not (line[0].isdigit() or line[0] in "-.")):
                continue
            fields = line.split(",")
            if len(fields) != N_IN + 1:
                fail("%s line %d has %d values (want 64 pixel values 0..16 then a label "
                     "0..9)" % (path, lineno, len(fields)))
            try:
                vals = [float(v) for v in fields]
            except ValueError as e:
                fail("%s line %d: %s" % (path, lineno, e))
            for col, v in enumerate(vals[:N_IN], 1):
                if not 0 <= v <= 16:
                    fail("%s line %d column %d: pixel value %r is not in 0..16"
                         % (path, lineno, col, fields[col - 1]))
            label = vals[N_IN]
            if label != math.floor(label) or not 0 <= label <= 9:
                fail("%s line %d column 65: label %r is not a digit 0..9"
                     % (path, lineno, fields[N_IN]))
            xs.append([v / 16.0 for v in vals[:N_IN]])
            ys.append(int(label))
    if not ys:
        fail("%s holds no samples" % path)
    return xs, ys


def save_atomic(torch, obj, path):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def export_onnx(torch, nn, model, path):
    """Writes model.onnx: pixels (0..16, [batch, 64]) -> probabilities ([batch, 10]), the
    network with its input scaling and a softmax, as the digits-c learner writes it."""
    class Serving(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, pixels):  # * 0.0625 is exactly / 16, and exports as a Mul
            return torch.softmax(self.net(pixels * 0.0625), dim=1)

    model.eval()
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        with torch.no_grad():
            torch.onnx.export(Serving(model), torch.zeros(1, N_IN), tmp,
                              input_names=["pixels"], output_names=["probabilities"],
                              dynamic_axes={"pixels": {0: "batch"},
                                            "probabilities": {0: "batch"}},
                              opset_version=13)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except Exception as e:  # the other results are still good: say so and go on
        sys.stderr.write("digits-train: cannot export %s (%s)\n" % (path, e))
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_checkpoint(torch, path):
    """The checkpoint dict, or None when there is none or it is unusable (said on stderr)."""
    if not os.path.exists(path):
        return None
    try:
        # The checkpoint is this learner's own file in its job's CHECKPOINT_DIR, so a full
        # unpickle is safe; torch 1.13's weights_only loader cannot read the float
        # hyper-parameters inside the optimizer's state.
        ckpt = torch.load(path, map_location="cpu")
        if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not a digits-pytorch checkpoint")
        return ckpt
    except Exception as e:  # a damaged file must not stop training: start afresh
        sys.stderr.write("digits-train: ignoring checkpoint %s (%s); starting afresh\n"
                         % (path, e))
        return None


def on_signal(sig, frame):
    global stop_signal
    stop_signal = sig


def main():
    epochs = env_number("EPOCHS", 20, 1, 1000000, whole=True)
    batch_size = env_number("BATCH_SIZE", 32, 1, 100000, whole=True)
    lr = env_number("LEARNING_RATE", 0.003, 1e-9, 10.0)
    sleep_per_epoch = env_number("SLEEP_PER_EPOCH", 0.0, 0.0, 86400.0)
    seed = env_number("SEED", 42, 0, 2147483647, whole=True)
    threads = env_number("TORCH_NUM_THREADS", 1, 1, 1024, whole=True)
    data_dir = os.environ.get("DATA_DIR") or "."
    result_dir = os.environ.get("RESULT_DIR") or "."
    checkpoint_dir = os.environ.get("CHECKPOINT_DIR") or None

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    train_x, train_y = load_csv(os.path.join(data_dir, "digits-train.csv"))
    test_x, test_y = load_csv(os.path.join(data_dir, "digits-test.csv"))
    if len(train_y) < 10:
        fail("%s/digits-train.csv needs at least 10 samples" % data_dir)

    try:
        import torch
        from torch import nn
    except ImportError as e:
        sys.stderr.write("digits-train: PyTorch is missing (%s); install Debian's "
                         "python3-torch and run this with /usr/bin/python3\n" % e)
        return 1
    torch.set_num_threads(threads)

    # Every 10th training row is held out for validation, as in digits-c.
    fit_rows = [i for i in range(len(train_y)) if i % 10 != 9]
    val_rows = [i for i in range(len(train_y)) if i % 10 == 9]
    X = torch.tensor(train_x, dtype=torch.float32)
    Y = torch.tensor(train_y, dtype=torch.long)
    fit_x, fit_y = X[fit_rows], Y[fit_rows]
    val_x, val_y = X[val_rows], Y[val_rows]
    tst_x = torch.tensor(test_x, dtype=torch.float32)
    tst_y = torch.tensor(test_y, dtype=torch.long)

    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(N_IN, N_HID), nn.ReLU(), nn.Linear(N_HID, N_OUT))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    # Shuffling draws from its own generator, saved in the checkpoint, so a resumed run
    # sees the same batches as one that never stopped.
    gen = torch.Generator().manual_seed(seed)
    epoch = 0

    ckpt_path = None
    if checkpoint_dir:
        ckpt_path = os.path.join(checkpoint_dir, "checkpoint.pt")
        ckpt = load_checkpoint(torch, ckpt_path)
        if ckpt is not None:
            try:
                model.load_state_dict(ckpt["model"])
                optimizer.load_state_dict(ckpt["optimizer"])
                for group in optimizer.param_groups:
                    group["lr"] = lr
                gen.set_state(ckpt["rng"])
                epoch = int(ckpt["epoch"])
                print("resuming from checkpoint at epoch %d" % epoch)
            except (KeyError, RuntimeError, ValueError, TypeError) as e:
                sys.stderr.write("digits-train: ignoring checkpoint %s (%s); starting afresh\n"
                                 % (ckpt_path, e))
                torch.manual_seed(seed)
                model = nn.Sequential(nn.Linear(N_IN, N_HID), nn.ReLU(),
                                      nn.Linear(N_HID, N_OUT))
                optimizer = torch.optim.Adam(model.parameters(), lr=lr)
                gen = torch.Generator().manual_seed(seed)
                epoch = 0
    else:
        sys.stderr.write("digits-train: CHECKPOINT_DIR is not set; not checkpointing\n")
    print("training %d samples (validating on %d, testing on %d), %d epochs, batch %d, "
          "learning rate %g" % (len(fit_y), len(val_y), len(tst_y), epochs, batch_size, lr),
          flush=True)

    def evaluate(x, y):
        model.eval()
        with torch.no_grad():
            out = model(x)
            loss = loss_fn(out, y).item()
            acc = (out.argmax(dim=1) == y).float().mean().item()
        model.train()
        return loss, acc

    while epoch < epochs and not stop_signal:
        perm = torch.randperm(len(fit_y), generator=gen)
        total_loss, correct = 0.0, 0
        for b in range(0, len(perm), batch_size):
            if stop_signal:
                break
            idx = perm[b:b + batch_size]
            xb, yb = fit_x[idx], fit_y[idx]
            out = model(xb)
            loss = loss_fn(out, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(idx)
            correct += (out.argmax(dim=1) == yb).sum().item()
        if stop_signal:
            break
        val_loss, val_acc = evaluate(val_x, val_y)
        epoch += 1
        if ckpt_path:
            save_atomic(torch, {"format": CHECKPOINT_FORMAT, "epoch": epoch,
                                "model": model.state_dict(),
                                "optimizer": optimizer.state_dict(),
                                "rng": gen.get_state()}, ckpt_path)
        print("epoch %d/%d loss=%.4f accuracy=%.4f val_loss=%.4f val_accuracy=%.4f"
              % (epoch, epochs, total_loss / len(fit_y), correct / len(fit_y), val_loss,
                 val_acc), flush=True)
        deadline = time.monotonic() + (sleep_per_epoch if epoch < epochs else 0)
        while not stop_signal and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    if stop_signal:
        print("stopping on signal %d; the checkpoint at epoch %d is kept"
              % (stop_signal, epoch), flush=True)
        return 128 + stop_signal

    test_loss, test_acc = evaluate(tst_x, tst_y)
    os.makedirs(result_dir, exist_ok=True)
    save_atomic(torch, model.state_dict(), os.path.join(result_dir, "model.pt"))
    export_onnx(torch, nn, model, os.path.join(result_dir, "model.onnx"))
    results = {"test_accuracy": round(test_acc, 4), "test_loss": round(test_loss, 4),
               "epochs": epoch, "learning_rate": lr, "batch_size": batch_size,
               "hidden_units": N_HID, "train_samples": len(fit_y),
               "val_samples": len(val_y), "test_samples": len(tst_y),
               "framework": "pytorch", "torch_version": torch.__version__,
               "model": "model.pt"}
    with open(os.path.join(result_dir, "results.json"), "w") as f:
        json.dump(results, f)
        f.write("\n")
    print("test_loss=%.4f" % test_loss)
    print("test_accuracy=%.4f" % test_acc, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
