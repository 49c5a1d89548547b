"""flask_app.py - the serving benchmark's baseline (bench/serve.sh): the digits
PyTorch model (model.pt, as examples/digits-pytorch writes it) behind Flask,
run by gunicorn, answering Seldon's POST /api/v1.0/predictions with the same
data.ndarray JSON as weft's native runtime: what a Seldon Python wrapper does.
MODEL_PT names the state dict. Run with Debian's /usr/bin/python3 (torch)."""
import os

import torch
from flask import Flask, jsonify, request
from torch import nn

N_IN, N_HID, N_OUT = 64, 64, 10

torch.set_num_threads(1)
net = nn.Sequential(nn.Linear(N_IN, N_HID), nn.ReLU(), nn.Linear(N_HID, N_OUT))
net.load_state_dict(torch.load(os.environ["MODEL_PT"], map_location="cpu"))
net.eval()
app = Flask(__name__)


@app.route("/api/v1.0/predictions", methods=["POST"])
def predictions():
    msg = request.get_json(force=True)
    x = torch.tensor(msg["data"]["ndarray"], dtype=torch.float32)
    with torch.no_grad():
        p = torch.softmax(net(x * 0.0625), dim=1)
    rows = p.tolist()
    names = ["t:%d" % i for i in range(len(rows[0]))] if rows else []
    return jsonify({"data": {"names": names, "ndarray": rows}, "meta": {}})
