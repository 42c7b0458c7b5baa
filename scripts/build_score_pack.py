"""Build a score pack (naswot_tui/data/*.npz, see core/score_pack.py) from a whole-space trace.

    python scripts/build_score_pack.py TRACE.jsonl [--scores SCORES.npz] --out naswot_tui/data/NAME.npz

TRACE is the trace of a ``--n all`` run (e.g. ``naswot-tui --headless --n all
--executor procs --seed 1 --out DIR``); its header gives the pack's context
(space, batch hash, batch size, hook rule, proxy, init seed, precision, device
kind: ``env.device_kind``, or ``--device-kind`` for a trace written before it
was recorded). A pack is used only on its device kind, so name the file after
it and add it to ``score_pack.SHIPPED``. With ``--scores`` the scores come from
an ``.npz`` with arrays ``index`` and ``score`` scored in that same context
(the trace then only supplies the header). Every architecture of the space
must have a score (``--partial`` to allow gaps); failed cells are stored as
NaN and are scored again at run time.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np


def context_from_header(header: dict, device_kind: str | None = None) -> dict:
    """The pack context of a trace; ``device_kind`` for traces whose header predates ``env.device_kind``."""
    from naswot_tui.core.cache import INIT_POLICY

    config = header["config"]
    amp = config.get("amp")
    env = header.get("env", {})
    kind = device_kind or env.get("device_kind")
    if not kind:
        raise ValueError("the trace's header does not say the device kind it was scored on; "
                         "pass --device-kind (e.g. cpu-avx2) as `naswot-tui --headless` on that machine records it")
    dtype = f"amp-{amp}" if amp else ("fp32+tf32" if config.get("tf32") and kind.startswith("cuda") else "fp32")
    return {"space": config["space"], "data_fingerprint": header["batch_fingerprint"],
            "batch_size": header["batch_size"], "hook_rule": header["hook_rule"], "proxy": header["proxy"],
            "init_policy": f"{INIT_POLICY}:seed={header['seed']}", "dtype": dtype, "device_kind": kind}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", type=Path)
    parser.add_argument("--scores", type=Path, help="npz with index/score arrays (default: the trace's scores)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--partial", action="store_true", help="allow architectures without a score")
    parser.add_argument("--device-kind", help="the scoring device's kind, for traces that do not record it")
    args = parser.parse_args(argv)

    from naswot_tui.core.score_pack import write_pack
    from naswot_tui.core.trace import read_trace

    trace = read_trace(args.trace)
    try:
        context = context_from_header(trace.header, args.device_kind)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if context["proxy"] == "naswot" and context["hook_rule"] == "relu":
        context["proxy"] = "naswot-relu"   # the cache key names the proxy the hook rule selects
    if args.scores:
        with np.load(args.scores, allow_pickle=False) as npz:
            pairs = dict(zip(npz["index"].tolist(), npz["score"].tolist(), strict=True))
    else:
        pairs = {}
        for s in trace.scores:
            failed = s.score is None or (isinstance(s.score, float) and math.isnan(s.score))
            pairs.setdefault(s.index, math.nan if failed else float(s.score))
    size = int(trace.header.get("space_size", 0))
    if not args.partial and len(pairs) != size:
        print(f"error: {len(pairs)} of {size} architectures scored; finish the run (--resume) or pass --partial",
              file=sys.stderr)
        return 2
    indices = np.fromiter(pairs.keys(), dtype=np.int64, count=len(pairs))
    scores = np.fromiter(pairs.values(), dtype=np.float64, count=len(pairs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_pack(args.out, context, indices, scores)
    n_nan = int(np.isnan(scores).sum())
    print(f"{args.out}: {len(pairs)} scores ({n_nan} failed, {int(np.isneginf(scores).sum())} -inf), context {context}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
