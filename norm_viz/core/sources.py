"""The published sources the app checks: the D2L chapter, the Q&A thread on BatchNorm vs LayerNorm in transformers,
an interview-prep article, study notes and the papers, each with the claims the app quotes and where it checks them.

Users see these names, never the project's internal file names. No streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One sentence a source says, quoted, and what the app finds when it checks it."""

    quote: str
    verdict: str
    """'right', 'wrong' or 'partly right': what the app's numbers say about the quote."""
    finding: str
    page: str = ""
    """url_path of the page that checks the claim live ('' when none does)."""


@dataclass(frozen=True)
class Source:
    """A published text: its title, who wrote it and where it is."""

    key: str
    title: str
    who: str
    where: str
    claims: tuple[Claim, ...] = ()

    @property
    def cite(self) -> str:
        """A short citation: who, the title."""
        return f"{self.who}, “{self.title}”"


SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            "qa",
            "Why do transformers use layer norm instead of batch norm?",
            "Cross Validated (Stack Exchange) Q&A thread: an answer and its comments",
            "stats.stackexchange.com/questions/474440",
            (
                Claim(
                    "In transformers, it is calculated across all features and all elements, for each instance "
                    "independently.",
                    "wrong",
                    "Transformer LayerNorm is per token, over that token's features only (`nn.LayerNorm(d_model)`); "
                    "the thread's own comments correct it: “the statement … is wrong”, and LayerNorm in the "
                    "Transformer “applies standard normalization just on the last dimension of inputs”. Averaging "
                    "over all tokens too is a different norm, and in a decoder it lets later tokens leak backwards.",
                    "which-layernorm",
                ),
                Claim(
                    "In NLP tasks, the sentence length often varies -- thus, if using batchnorm, it would be uncertain "
                    "what would be the appropriate normalization constant.",
                    "right",
                    "Padded tokens enter BatchNorm's mean and variance unless they are masked out; LayerNorm's "
                    "statistics of a real token never see a pad.",
                    "padding",
                ),
                Claim(
                    "Doesn't batch norm also cause look ahead issues? (a comment)",
                    "right",
                    "In training mode BatchNorm's statistics mix every position, so a later token changes an earlier "
                    "token's output; LayerNorm's per-token statistics do not.",
                    "causal",
                ),
                Claim(
                    "Since there is dependence between elements, there is additional need for synchronization across "
                    "devices.",
                    "partly right",
                    "Only if the devices must agree: per-device BatchNorm needs no exchange but gives each shard its "
                    "own statistics (a comment: “in practice BN is not synchronized”, citing Goyal et al.); "
                    "SyncBatchNorm exchanges 2·F + 1 numbers per layer; LayerNorm needs nothing.",
                    "multi-device",
                ),
            ),
        ),
        Source(
            "d2l",
            "Comparison of Layer Normalization and Batch Normalization in NLP",
            "A study card built on Dive into Deep Learning (Zhang, Lipton, Li, Smola), chapter “Batch Normalization”, "
            "section “Layer Normalization”, whose PyTorch example it quotes",
            "d2l.ai/chapter_convolutional-modern/batch-norm.html",
            (
                Claim(
                    "Layer normalization operates similarly to batch normalization, but it normalizes across the "
                    "feature dimension rather than the batch dimension.",
                    "right",
                    "Its example X = [[1, 2], [2, 3]] gives LayerNorm [[-1, 1], [-1, 1]] and BatchNorm "
                    "[[-1, -1], [1, 1]], computed by the app and checked against torch.nn.",
                    "explorer",
                ),
            ),
        ),
        Source(
            "interview",
            "Normalization in Transformers",
            "An interview-prep article (Educative)",
            "educative.io",
            (
                Claim(
                    "BN’s behavior depends on having a meaningful batch of data, whereas LN works on each sample "
                    "independently.",
                    "right",
                    "With one example BatchNorm in training mode refuses or outputs zeros; in eval mode it uses "
                    "running averages that may not match the data.",
                    "train-eval",
                ),
                Claim(
                    "x1 = [2.0, 4.0, 6.0], x2 = [1.0, 3.0, 5.0] … LN: x1' = [−1.225, 0, 1.225]",
                    "right",
                    "Its toy example is one of the Explorer's worked examples, computed live.",
                    "explorer",
                ),
            ),
        ),
        Source(
            "notes",
            "Interpretations and effects of different normalization strategies in the context of transformers",
            "Study notes (written with an AI assistant)",
            "not published online",
            (
                Claim(
                    "Geometrically, this can be seen as projecting each element's feature vector onto a hypersphere.",
                    "partly right",
                    "LayerNorm first removes the mean (a projection onto a plane), then rescales onto a sphere of "
                    "radius √F inside that plane; RMSNorm only rescales.",
                    "geometry",
                ),
            ),
        ),
        Source(
            "powernorm",
            "PowerNorm: Rethinking Batch Normalization in Transformers",
            "Shen, Yao, Gholami, Mahoney, Keutzer (ICML 2020)",
            "arXiv:2003.07845",
            (
                Claim(
                    "Statistics of NLP data across the batch dimension exhibit large fluctuations throughout "
                    "training. This results in instability, if BN is naively implemented.",
                    "right",
                    "Measured live on synthetic and real sentences: the spread of per-batch statistics per batch size.",
                    "fluctuation",
                ),
            ),
        ),
        Source(
            "convnext",
            "A ConvNet for the 2020s",
            "Liu, Mao, Wu, Feichtenhofer, Darrell, Xie (CVPR 2022)",
            "arXiv:2201.03545",
            (
                Claim(
                    "ConvNet model does not have any difficulties training with LN; in fact, the performance is "
                    "slightly better.",
                    "not checked here",
                    "Quoted in the Q&A thread; the app's training lab trains a small ConvNet with every norm.",
                    "train-cnn",
                ),
            ),
        ),
        Source("layernorm", "Layer Normalization", "Ba, Kiros, Hinton (2016)", "arXiv:1607.06450"),
        Source(
            "batchnorm",
            "Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift",
            "Ioffe, Szegedy (ICML 2015)",
            "arXiv:1502.03167",
        ),
        Source("groupnorm", "Group Normalization", "Wu, He (ECCV 2018)", "arXiv:1803.08494"),
        Source("rmsnorm", "Root Mean Square Layer Normalization", "Zhang, Sennrich (NeurIPS 2019)", "arXiv:1910.07467"),
        Source(
            "prenorm",
            "On Layer Normalization in the Transformer Architecture",
            "Xiong et al. (ICML 2020)",
            "arXiv:2002.04745",
        ),
        Source(
            "largebatch",
            "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour",
            "Goyal et al. (2017)",
            "arXiv:1706.02677",
        ),
        Source(
            "dyt", "Transformers without Normalization", "Zhu, Chen, He, LeCun, Liu (CVPR 2025)", "arXiv:2503.10622"
        ),
        Source(
            "annotated",
            "The Annotated Transformer",
            "Harvard NLP (Rush et al.)",
            "nlp.seas.harvard.edu/annotated-transformer",
        ),
    )
}


def cite(*keys: str) -> str:
    """Short citations of some sources, joined: 'Dive into Deep Learning …; Cross Validated …'."""
    return "; ".join(SOURCES[k].cite for k in keys)


def short(key: str) -> str:
    """The shortest name a user recognizes: 'the Q&A thread', 'the D2L chapter', 'the PowerNorm paper'."""
    return _SHORT[key]


_SHORT = {
    "qa": "the Cross Validated Q&A thread on BatchNorm vs LayerNorm in transformers",
    "d2l": "the Dive into Deep Learning (D2L) chapter on normalization",
    "interview": "an interview-prep article (Educative)",
    "notes": "study notes on normalization in transformers",
    "powernorm": "the PowerNorm paper (Shen et al., 2020)",
    "convnext": "the ConvNeXt paper (Liu et al., 2022)",
    "layernorm": "the LayerNorm paper (Ba et al., 2016)",
    "batchnorm": "the BatchNorm paper (Ioffe and Szegedy, 2015)",
    "groupnorm": "the GroupNorm paper (Wu and He, 2018)",
    "rmsnorm": "the RMSNorm paper (Zhang and Sennrich, 2019)",
    "prenorm": "Xiong et al., 2020",
    "largebatch": "Goyal et al., 2017",
    "dyt": "the DyT paper (Zhu et al., 2025)",
    "annotated": "the Annotated Transformer",
}


def names(*keys: str) -> str:
    """Several sources by their short names, joined with semicolons."""
    return "; ".join(short(k) for k in keys)
