"""The tiny LM itself: a causal transformer decoder (token and position embeddings, blocks of attention and MLP
with the chosen norm before or after each residual sum, a read-out), its parameter groups and its loss. torch only."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from norm_viz.training.layers import SequenceNorm
from norm_viz.training.lm.config import LMConfig
from norm_viz.training.lm.data import text_data


class Block(nn.Module):
    """Causal self-attention and an MLP, each with its norm before (pre) or after the residual sum (post)."""

    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        w = cfg.width
        self.heads, self.pre = cfg.heads, cfg.placement == "pre"
        self.norm1 = SequenceNorm(cfg.norm, w, powernorm_warmup=cfg.powernorm_warmup)
        self.norm2 = SequenceNorm(cfg.norm, w, powernorm_warmup=cfg.powernorm_warmup)
        self.qkv = nn.Linear(w, 3 * w)
        self.proj = nn.Linear(w, w)
        self.mlp = nn.Sequential(nn.Linear(w, 4 * w), nn.GELU(), nn.Linear(4 * w, w))

    def attend(self, x: Tensor) -> Tensor:
        b, s, w = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        # right padding only: a real token never attends to a pad under the causal mask
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, s, w))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        if self.pre:
            x = x + self.attend(self.norm1(x, mask))
            return x + self.mlp(self.norm2(x, mask))
        x = self.norm1(x + self.attend(x), mask)
        return self.norm2(x + self.mlp(x), mask)


class CharLM(nn.Module):
    """Token and position embeddings, `layers` blocks, a final norm (pre-norm only) and a linear read-out."""

    def __init__(self, cfg: LMConfig, vocab: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab + 1, cfg.width)  # the last row is the pad
        self.pos = nn.Embedding(cfg.max_len, cfg.width)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.final = (
            SequenceNorm(cfg.norm, cfg.width, powernorm_warmup=cfg.powernorm_warmup) if cfg.placement == "pre" else None
        )
        self.head = nn.Linear(cfg.width, vocab)
        for m in self.modules():  # GPT-2's initialization: small weights, so the first loss is about ln(vocab)
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def norms(self) -> list[tuple[str, SequenceNorm]]:
        """The norm layers in forward order, with names."""
        out = []
        for i, b in enumerate(self.blocks):
            assert isinstance(b, Block)
            out += [(f"block {i} norm 1 (attention)", b.norm1), (f"block {i} norm 2 (MLP)", b.norm2)]
        if self.final is not None:
            out.append(("final norm", self.final))
        return out

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        x = self.embed(ids) + self.pos.weight[: ids.shape[1]]
        for b in self.blocks:
            x = b(x, mask)
        if self.final is not None:
            x = self.final(x, mask)
        return self.head(x)


def param_groups(model: CharLM) -> dict[str, list[nn.Parameter]]:
    """Parameters grouped per layer, for the gradient-norm plot: embeddings, each block's attention, MLP and norms,
    the final norm, the read-out."""
    groups: dict[str, list[nn.Parameter]] = {"embeddings": [*model.embed.parameters(), *model.pos.parameters()]}
    for i, b in enumerate(model.blocks):
        assert isinstance(b, Block)
        groups[f"block {i} attention"] = [*b.qkv.parameters(), *b.proj.parameters()]
        groups[f"block {i} MLP"] = list(b.mlp.parameters())
        groups[f"block {i} norms"] = [*b.norm1.parameters(), *b.norm2.parameters()]
    if model.final is not None:
        groups["final norm"] = list(model.final.parameters())
    groups["read-out"] = list(model.head.parameters())
    return {k: v for k, v in groups.items() if v}


def loss_of(model: CharLM, ids: Tensor, targets: Tensor, mask: Tensor, reduction: str = "mean") -> Tensor:
    logits = model(ids, mask)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction=reduction)


def layout(cfg: LMConfig) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """(parameter count, parameter-group names, norm-layer names) of the model this config builds."""
    cfg.check()
    model = CharLM(cfg, text_data().vocab_size)
    return sum(p.numel() for p in model.parameters()), tuple(param_groups(model)), tuple(n for n, _ in model.norms())
