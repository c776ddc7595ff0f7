#!/usr/bin/python3
"""bench:compare's gradient check of the PyTorch peer.

Reads problem files written by bench/compare/worker.ts (--role reference), loads the weights
into torch.nn.RNN/GRU/LSTM + Linear (the state_dict names loopgrad uses), runs one step of
../shared/bench/torch_step.py's training step (same loss) on the same inputs and targets in
the given dtype, and prints one JSON line per problem: {cell, size, loss, grads: {name: base64
float64}, ms}. The timing itself is torch_step.py's.

  /usr/bin/python3 torch_check.py --threads 1 --dtype float32 problem-gru-tiny.json ...
"""
import argparse
import base64
import json
import sys
import time

import numpy as np
import torch


def f32(s, shape):
    return torch.from_numpy(np.frombuffer(base64.b64decode(s), dtype="<f4").copy().reshape(shape))


def check(path, dtype):
    with open(path) as fh:
        j = json.load(fh)
    d = j["dims"]
    B, T, I, H, O = d["B"], d["T"], d["I"], d["H"], d["O"]
    cell = j["cell"]
    rnn = {"vanilla": lambda: torch.nn.RNN(I, H, nonlinearity="tanh"),
           "gru": lambda: torch.nn.GRU(I, H),
           "lstm": lambda: torch.nn.LSTM(I, H)}[cell]().to(dtype)
    lin = torch.nn.Linear(H, O).to(dtype)
    by_name = {}
    for k, p in rnn.named_parameters():
        by_name[k[: -len("_l0")] if k.endswith("_l0") else k] = p
    for k, p in lin.named_parameters():
        by_name["readout." + k] = p
    with torch.no_grad():
        for q in j["params"]:
            by_name[q["name"]].copy_(f32(q["f32"], q["shape"]).to(dtype))
    x = f32(j["inputs"], [T, B, I]).to(dtype)
    target = f32(j["targets"], [T, B, O]).to(dtype)
    t0 = time.perf_counter()
    out, _ = rnn(x)
    y = lin(out)
    loss = 0.5 * ((y - target) ** 2).sum() / B
    loss.backward()
    ms = (time.perf_counter() - t0) * 1e3
    grads = {q["name"]: base64.b64encode(by_name[q["name"]].grad.detach().to(torch.float64).numpy().astype("<f8").tobytes()).decode()
             for q in j["params"]}
    return dict(cell=cell, size=j["size"], loss=float(loss), grads=grads, ms=ms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("problems", nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    print(json.dumps(dict(meta=dict(torch=torch.__version__, python=sys.version.split()[0], threads=a.threads))), flush=True)
    for path in a.problems:
        try:
            print(json.dumps(check(path, dtype)), flush=True)
        except Exception as e:  # report, go on with the next problem
            print(json.dumps(dict(problem=path, error=f"{type(e).__name__}: {e}")), flush=True)


if __name__ == "__main__":
    main()
