"""Interview cards: the classic normalization questions, short answers in our own words, links to the live demos,
and a printable Markdown cheat sheet whose axis table and worked examples are generated from NORMS and normalize().

No streamlit here: the page renders the cards; the links name url_paths of app.py's PAGES plus query parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from norm_viz.core.compute import normalize
from norm_viz.core.data import PRESETS
from norm_viz.core.sources import names
from norm_viz.core.table import NORMS, default_groups, torch_call, unit_name
from norm_viz.real.view import RealModelView

ROOT_PAGE = ""
"""url_path of app.py's default page: Streamlit serves it at "/" (tests check that it is app.py's default)."""


@dataclass(frozen=True)
class Link:
    """A live demo: a page's url_path and the query parameters that set it up."""

    label: str
    url_path: str
    query: tuple[tuple[str, str], ...] = ()

    @property
    def href(self) -> str:
        """A relative link to the page with its settings, e.g. 'padding?norm=batchnorm' ('?norm=…' for the
        default page, which Streamlit serves at the root only: '/explorer' would say 'Page not found')."""
        q = "&".join(f"{k}={v}" for k, v in self.query)
        return ("" if self.url_path == ROOT_PAGE else self.url_path) + (f"?{q}" if q else "")


@dataclass(frozen=True)
class Card:
    """One interview question with its answer, where it comes from, and the demos that prove it."""

    key: str
    question: str
    answer: str
    links: tuple[Link, ...]
    source: str
    correction: str = ""
    """Non-empty when a published source gets this wrong: what it says, and what is true."""


CARDS: tuple[Card, ...] = (
    Card(
        "why_ln",
        "Why do transformers use LayerNorm rather than BatchNorm?",
        "LayerNorm computes one mean and one variance per token, over that token's own features. A token's output "
        "therefore depends on nothing else: not on the batch size, not on the other sequences, not on padding or "
        "on later tokens, and training and inference compute exactly the same thing. BatchNorm averages each feature "
        "over every token of the batch, which ties tokens and sequences together, needs running averages at "
        "inference, and suffers from batch statistics that fluctuate a lot on text.",
        (
            Link("See which cells share LayerNorm's statistic", "explorer", (("norm", "layernorm"),)),
            Link("Does another sequence change my output?", "batch-dependence", (("norm", "batchnorm"),)),
            Link("LayerNorm and BatchNorm side by side", "compare"),
            Link("A real transformer's LayerNorms, measured live", "real-model"),
        ),
        names("qa", "d2l", "notes", "interview"),
    ),
    Card(
        "which_ln",
        "Does a transformer's LayerNorm average over all tokens and features of a sequence?",
        "No: over the features of one token only (`nn.LayerNorm(d_model)`, `x.mean(-1)` in the Annotated "
        "Transformer). Averaging over the whole sequence is the GroupNorm paper's 'LayerNorm' for images; in a "
        "decoder it would let later tokens change earlier ones.",
        (Link("Which LayerNorm? Both readings against PyTorch's transformer layer", "which-layernorm"),),
        names("qa", "annotated"),
        correction="An answer in the Cross Validated Q&A thread on BatchNorm vs LayerNorm in transformers claims that "
        "in transformers LN 'is calculated across all features and all elements, for each instance independently' "
        "(the whole left face of the cube). That is wrong; the comments under it correct it, and the linked page "
        "shows the difference on your own tensor.",
    ),
    Card(
        "bn_batch1",
        "What happens to BatchNorm at inference with batch size 1?",
        "In training mode BatchNorm needs several values per feature: with a single value PyTorch refuses ('Expected "
        "more than 1 value per channel when training'), and with a few tokens the statistics are noisy and depend on "
        "whatever else is in the batch. That is why BatchNorm switches to running averages in eval mode: a sample's "
        "output then no longer depends on its batch, but only as long as those averages match the data it sees. "
        "LayerNorm needs no batch at all.",
        (Link("Train vs eval mode with a batch of one", "train-eval", (("norm", "batchnorm"), ("B", "1"))),),
        names("interview"),
    ),
    Card(
        "padding",
        "How do padded, variable-length sequences interact with normalization?",
        "BatchNorm averages over every token of the batch, so pad tokens enter the mean and the variance unless they "
        "are masked out, and the number of real tokens changes from batch to batch. LayerNorm normalizes each token "
        "by itself: pad tokens cannot affect the real ones.",
        (
            Link("Padding and the batch statistics", "padding", (("norm", "batchnorm"),)),
            Link("Padding on real sentences", "padding", (("src", "real"),)),
        ),
        names("qa", "interview"),
    ),
    Card(
        "causal",
        "Why does normalization matter for causal (autoregressive) decoding?",
        "A decoder must not see the future, and at generation time it produces one token at a time. LayerNorm per "
        "token uses only that token, so position t gives the same output whether or not later tokens exist. "
        "BatchNorm in training mode, or a norm over the whole sequence, mixes all positions: a later token changes "
        "an earlier token's output, and training and step-by-step generation disagree.",
        (Link("Does a later token change an earlier one?", "causal", (("norm", "batchnorm"),)),),
        names("qa", "interview"),
    ),
    Card(
        "multi_device",
        "What does BatchNorm cost in multi-device (data-parallel) training?",
        "Each device sees a slice of the batch. BatchNorm's statistics then come from that slice unless the devices "
        "synchronize them (SyncBatchNorm), which adds communication in every normalized layer; unsynchronized, the "
        "result depends on how the batch was split. LayerNorm's statistics live inside one token, so nothing has to "
        "be exchanged. (Vision models often accept per-device statistics and treat the per-device batch size as a "
        "hyperparameter.)",
        (Link("Split the batch over devices", "multi-device", (("norm", "batchnorm"),)),),
        names("qa", "interview", "largebatch"),
    ),
    Card(
        "pre_post",
        "Pre-norm or post-norm?",
        "Post-norm, as in the original Transformer, normalizes after the residual addition: x ← LN(x + F(x)). "
        "Pre-norm normalizes only the input of each sub-layer: x ← x + F(LN(x)), so an identity path runs from the "
        "input to the output untouched. Pre-norm trains deep stacks more stably and with less learning-rate warm-up; "
        "post-norm keeps every block's output normalized and can do slightly better when it trains. The LayerNorm "
        "itself is the same per-token operation in both; only its place changes.",
        (
            Link(
                "Pre- vs post-norm on a 24-block stack: the residual stream and the gradient",
                "placement",
                (("pl_layers", "24"),),
            ),
        ),
        names("d2l", "notes", "prenorm"),
    ),
    Card(
        "rms",
        "RMSNorm or LayerNorm?",
        "RMSNorm divides each token by the root mean square of its features and skips subtracting the mean (and "
        "usually the shift β). It is cheaper and works as well in many large language models. On a token whose "
        "features already have mean 0 the two give the same output.",
        (
            Link("RMSNorm on the explorer", "explorer", (("norm", "rmsnorm"),)),
            Link("When are two norms the same?", "equivalences"),
        ),
        names("d2l", "rmsnorm"),
    ),
    Card(
        "powernorm",
        "What does PowerNorm change about BatchNorm?",
        "PowerNorm (Shen et al., 2020) keeps normalizing over the batch but removes what breaks on text: it does not "
        "subtract the mean (it divides by a quadratic mean, like RMSNorm), and it uses running statistics in the "
        "forward pass during training instead of each batch's fluctuating ones, with an approximate backward pass "
        "to match.",
        (
            Link("PowerNorm step by step", "powernorm"),
            Link("How much batch statistics fluctuate", "fluctuation"),
        ),
        names("qa", "powernorm"),
    ),
    Card(
        "norm_free",
        "Can a transformer work without normalization layers?",
        "Yes, if something else keeps the activations' scale under control. Dynamic Tanh (DyT) replaces each "
        "LayerNorm with y = γ · tanh(αx) + β: an element-wise squashing with a learned α and no statistics at all. "
        "Earlier normalization-free networks relied on careful initialization and scaling of the residual branches.",
        (Link("DyT next to LayerNorm", "dyt"),),
        names("d2l", "dyt"),
    ),
    Card(
        "d2l",
        "Normalize X = [[1, 2], [2, 3]] with LayerNorm and with BatchNorm.",
        "LayerNorm works along each row (one example's features), BatchNorm along each column (one feature over the "
        "batch), so the two outputs are each other's transpose here. The exact numbers are in the cheat sheet's "
        "worked examples, computed by the app.",
        (
            Link("The D2L example with LayerNorm", "explorer", (("src", "preset"), ("preset", "d2l"))),
            Link(
                "…and with BatchNorm",
                "explorer",
                (("src", "preset"), ("preset", "d2l"), ("norm", "batchnorm")),
            ),
        ),
        names("d2l"),
    ),
)


EXAMPLE_SHAPE: tuple[int, int, int] = (4, 6, 8)
"""The (B, S, F) the axis table's PyTorch calls are written for: the sidebar's default tensor."""

EXAMPLE_EPS = 1e-5


def example_note(shape: tuple[int, int, int] = EXAMPLE_SHAPE) -> str:
    """The sentence that says which tensor the axis table's PyTorch calls are written for."""
    b, s, f = shape
    return (
        f"The PyTorch calls are written out for x of shape (B, S, F) = ({b}, {s}, {f}), G = {default_groups(f)} "
        f"groups and ε = {EXAMPLE_EPS:g}; x[mask] keeps the real (non-padding) tokens."
    )


def axis_rows(shape: tuple[int, int, int] = EXAMPLE_SHAPE) -> list[dict[str, str]]:
    """One row per norm of NORMS: what one statistic belongs to, what it averages over, centering, γ/β, and the
    torch call with `shape`'s sizes filled in (no {F}-style placeholders)."""
    b, s, f = shape
    rows = []
    for key, n in NORMS.items():
        kept = tuple(a for a in n.kept if a != "group" or n.uses_groups)
        over = [a for a in n.reduce if a != "group"]
        if n.uses_groups and "group" not in n.reduce and "feature" in n.reduce:
            over = [a if a != "feature" else "features of one group" for a in over]
        rows.append(
            {
                "key": key,
                "norm": n.label,
                "per": unit_name(kept),
                "over": ", ".join(over) or "nothing: each value alone",  # DyT: no statistic, not a blank cell
                "centered": "yes" if n.centered else "no",
                "affine": "(F,)" if n.affine == "feature" else "(S, F)",
                "torch": torch_call(key, b, s, f, default_groups(f), EXAMPLE_EPS).split("  #")[0],
            }
        )
    return rows


AXIS_COLUMNS: dict[str, str] = {
    "norm": "norm",
    "per": "one statistic per",
    "over": "averages over",
    "centered": "subtracts the mean",
    "affine": "γ, β shape",
    "torch": "PyTorch",
}
"""The axis table's columns: a key of `axis_rows()` -> its heading."""


def axis_table() -> dict[str, list[str]]:
    """The axis table as columns under their headings (heading -> one text per norm)."""
    rows = axis_rows()
    return {head: [r[k] for r in rows] for k, head in AXIS_COLUMNS.items()}


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) > 5e-7 else "0"


def worked_examples() -> list[str]:
    """The sources' worked examples (PRESETS) under LayerNorm and BatchNorm, computed by normalize()."""
    lines = []
    for p in PRESETS.values():
        x = p.tensor()
        rows = x.reshape(-1, x.shape[-1]).tolist()
        lines.append(f"- **{p.label}** ({p.source}), as rows (batch items) × features:")
        lines.append(f"  - input: `{[[_fmt(v) for v in r] for r in rows]}`".replace("'", ""))
        for key in ("layernorm", "batchnorm"):
            y = normalize(x, key).output.reshape(-1, x.shape[-1]).tolist()
            lines.append(f"  - {NORMS[key].label}: `{[[_fmt(v) for v in r] for r in y]}`".replace("'", ""))
    return lines


def cheat_sheet() -> str:
    """The printable Markdown cheat sheet: every card's answer, the axis table and the worked examples."""
    out = [
        "# Normalization cheat sheet (norm-viz)",
        "",
        "x has shape (batch B, sequence S, features F); G = number of feature groups.",
        "",
        example_note(),
        "",
        "## Which values share one statistic",
        "",
        "| " + " | ".join(AXIS_COLUMNS.values()) + " |",
        "|" + "---|" * len(AXIS_COLUMNS),
    ]
    for r in axis_rows():
        out.append(f"| {r['norm']} | {r['per']} | {r['over']} | {r['centered']} | {r['affine']} | `{r['torch']}` |")
    out += ["", "## Interview questions", ""]
    for c in CARDS:
        out += [f"### {c.question}", "", c.answer, ""]
        if c.correction:
            out += [f"> **A source gets this wrong.** {c.correction}", ""]
        out += [f"*Sources: {c.source}. Demo: " + "; ".join(f"{lk.label} (`/{lk.href}`)" for lk in c.links) + "*", ""]
    out += ["## Worked examples (computed by the app)", "", *worked_examples(), ""]
    return "\n".join(out)


ALL = "all"
"""The card choice that shows every card."""
CARD_CHOICES: tuple[str, ...] = (ALL, *(c.key for c in CARDS))
"""What the page's question picker offers: every card, or one card by its key."""


_TITLES: dict[str, str] = {ALL: "All questions"} | {c.key: c.question for c in CARDS}


def real_notes(view: RealModelView, quote: Callable[[str], str]) -> dict[str, str]:
    """Live numbers from the pretrained model (the real model page's measurements) for the cards they make
    stronger than the toy tensors do, by card key, in Markdown. The sentence goes through `quote` (the page passes
    ui.literal: shown as typed, never as Markdown)."""
    cp = view.composition
    ln_moved = "exactly 0" if cp.ln_change == 0 else f"{cp.ln_change:.1e}"
    notes = {
        "why_ln": f"**On a real transformer (measured now):** the sentence {quote(cp.sentence[:50])} run in "
        f"{cp.n_batches} batches with different companions: its masked BatchNorm output moves by up to "
        f"{cp.bn_change:.3g}, its LayerNorm output by {ln_moved}.",
    }
    pad = [f for f in view.padded if f.bn_var_masked > 0]
    if pad:
        counts: dict[int, int] = {}
        for f in pad:
            counts[f.pad_feature] = counts.get(f.pad_feature, 0) + 1
        main = max(counts, key=lambda k: counts[k])
        ratios = [f.bn_var_unmasked / f.bn_var_masked for f in pad if f.pad_feature == main]
        notes["padding"] = (
            f"**On a real transformer (measured now):** the pretrained MiniLM marks padding positions in feature "
            f"{main} (at {counts[main]} of 13 LayerNorm inputs), so BatchNorm that counts the pads sees a variance of "
            f"that feature {min(ratios):.0f}–{max(ratios):.0f}× the real tokens' own."
        )
    return notes


def card_title(choice: str) -> str:
    """The picker's label of a choice: the card's question, or 'All questions'; KeyError for an unknown one."""
    return _TITLES[choice]


def cards_summary() -> str:
    """How many questions there are, how many correct a source, and what the cheat sheet holds."""
    return (
        f"{len(CARDS)} questions; {sum(1 for c in CARDS if c.correction)} of them correct a published source. "
        "The cheat sheet holds every answer, the axis table and the worked examples, computed by the app."
    )


@dataclass(frozen=True)
class InterviewConfig:
    """The interview page's setting: which card to show (a card's key, or 'all')."""

    card: str = ALL


@dataclass(frozen=True)
class InterviewView:
    """What the interview page shows: the chosen cards, whether the axis table is open, and the summary."""

    cards: tuple[Card, ...]
    table_open: bool
    table: dict[str, list[str]]
    summary: str
    table_note: str = ""
    """Which tensor the table's PyTorch calls are written for."""


def interview_view(cfg: InterviewConfig) -> InterviewView:
    """The cards `cfg` chooses, with the axis table (open when every card is shown) and the summary."""
    if cfg.card not in CARD_CHOICES:
        raise ValueError(f"unknown card {cfg.card!r}; choose one of {', '.join(CARD_CHOICES)}")
    shown = tuple(c for c in CARDS if cfg.card in (ALL, c.key))
    return InterviewView(shown, cfg.card == ALL, axis_table(), cards_summary(), example_note())
