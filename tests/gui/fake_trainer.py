"""A controllable stand-in for ``main.py train --events jsonl`` (for the Train panel's tests).

    python tests/gui/fake_trainer.py --out DIR [--epochs N] [--delay S] [--crash-at K] [--noise]

It speaks the trainer's event protocol exactly (``start``, ``epoch_end``, ``checkpoint``, ``done``;
see :mod:`gui.train_panel`), sleeping ``--delay`` seconds per epoch, writes ``DIR/model.pt`` (a
placeholder file, atomically) whenever the validation macro-F1 improves, and on SIGTERM finishes
with ``done`` and ``"stopped": true``. ``--crash-at K`` raises after epoch K (a traceback on stderr,
exit status 1, no ``done``); ``--noise`` mixes non-JSON lines and a partial-looking JSON line into
stdout, as libraries do. It imports nothing heavy, so it starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

LABELS = ["upright", "falling", "lying"]


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--delay", type=float, default=0.2)
    ap.add_argument("--crash-at", type=int, default=0)
    ap.add_argument("--noise", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("now", True))

    emit({"event": "start", "model": "lstm", "epochs": a.epochs, "train_windows": 90, "val_windows": 30,
          "label_names": LABELS})
    t0, best, path = time.monotonic(), -1.0, out / "model.pt"
    for epoch in range(1, a.epochs + 1):
        for _ in range(10):  # "batches": a stop request ends the epoch early
            time.sleep(a.delay / 10)
            if stop["now"]:
                break
        if stop["now"]:
            break
        f1 = min(0.95, 0.3 + 0.1 * epoch)
        if a.noise:
            sys.stdout.write("UserWarning: something a library printed\n{not json\n[1, 2]\n")
            sys.stdout.flush()
        elapsed = time.monotonic() - t0
        emit({"event": "epoch_end", "epoch": epoch, "epochs": a.epochs, "train_loss": 1.0 / epoch,
              "val_loss": 1.2 / epoch, "train_acc": min(1.0, 0.4 + 0.1 * epoch), "val_acc": min(1.0, 0.35 + 0.1 * epoch),
              "val_macro_f1": f1, "best_macro_f1": max(best, f1), "elapsed_s": elapsed,
              "eta_s": elapsed / epoch * (a.epochs - epoch)})
        if f1 > best:
            best = f1
            tmp = path.with_name("model.pt.tmp")
            tmp.write_bytes(json.dumps({"epoch": epoch, "val_macro_f1": f1}).encode())
            os.replace(tmp, path)
            emit({"event": "checkpoint", "path": str(path), "epoch": epoch, "val_macro_f1": f1})
        if a.crash_at and epoch >= a.crash_at:
            raise RuntimeError(f"simulated crash after epoch {epoch}")
    cm = [[8, 1, 1], [2, 6, 2], [0, 1, 9]]
    emit({"event": "done", "path": str(path) if best >= 0 else None, "stopped": stop["now"],
          "metrics": {"accuracy": 0.77, "macro_f1": max(best, 0.0)}, "confusion_matrix": cm, "label_names": LABELS})
    return 0


if __name__ == "__main__":
    sys.exit(main())
