"""Wav2Lip checkpoints: find them in checkpoints/, download once from the Hugging Face hub, load strictly."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ...config import env
from ...errors import EngineError
from ...i18n import Msg

log = logging.getLogger("lipsync.engines.wav2lip")


@dataclass(frozen=True)
class WeightsSource:
    """Where the Wav2Lip weights come from. The default is a public mirror of the official release."""

    repo_id: str = field(default_factory=lambda: env("LIPSYNC_WAV2LIP_REPO", "camenduru/Wav2Lip"))
    filename: str = field(default_factory=lambda: env("LIPSYNC_WAV2LIP_FILE", "checkpoints/wav2lip_gan.pth"))
    revision: str | None = field(default_factory=lambda: os.environ.get("LIPSYNC_WAV2LIP_REVISION"))
    #: hub address (None = huggingface_hub's default / $HF_ENDPOINT); a local mirror works too
    endpoint: str | None = field(default_factory=lambda: os.environ.get("LIPSYNC_HF_ENDPOINT"))

    def local_path(self, checkpoints: Path) -> Path:
        return Path(checkpoints) / Path(self.filename).name


REACH_CACHE_S = 300.0  # how long a hub reachability answer is trusted


class _Reachability:
    """Explicit cache of "can this hub be reached" answers (a connect check costs up to 3 s)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, bool]] = {}

    def __call__(self, url: str) -> bool:
        import time

        now = time.monotonic()
        hit = self._seen.get(url)
        if hit is None or now - hit[0] > REACH_CACHE_S:
            hit = (now, _reachable(url))
            self._seen[url] = hit
        return hit[1]


hub_reachable = _Reachability()


def weights_missing(checkpoints: Path, source: WeightsSource | None = None) -> Msg | None:
    """None when Wav2Lip can run (weights present, or downloadable now); else why not, in plain words."""
    from huggingface_hub import constants

    source = source or WeightsSource()
    target = source.local_path(checkpoints)
    if target.is_file() and target.stat().st_size > 0:
        return None
    if not constants.HF_HUB_OFFLINE and hub_reachable(source.endpoint or constants.ENDPOINT):
        return None
    return Msg("engine.wav2lip_not_installed", {"name": target.name, "folder": str(Path(checkpoints).resolve())})


def ensure_weights(checkpoints: Path, source: WeightsSource | None = None, download: bool = True) -> Path:
    """Path of the checkpoint file, downloading it once (with a progress bar) if it is missing.

    Offline (``HF_HUB_OFFLINE=1``, no network) or ``download=False``: raises EngineError saying which
    file to put where.
    """
    source = source or WeightsSource()
    target = source.local_path(checkpoints)
    if target.is_file() and target.stat().st_size > 0:
        return target
    where = Msg("err.weights_where", {"name": Path(source.filename).name, "folder": str(Path(checkpoints).resolve())})
    if not download:
        raise EngineError("err.weights_not_found", where=where)
    from huggingface_hub import constants, hf_hub_download

    if constants.HF_HUB_OFFLINE:
        raise EngineError("err.weights_offline", where=where)
    endpoint = source.endpoint or constants.ENDPOINT
    if not _reachable(endpoint):
        # the hub client retries with back-off for half a minute; a closed network answers at once
        raise EngineError("err.weights_unreachable", endpoint=endpoint, where=where)
    log.info("downloading %s from %s into %s", source.filename, source.repo_id, checkpoints)
    Path(checkpoints).mkdir(parents=True, exist_ok=True)
    try:
        got = Path(hf_hub_download(repo_id=source.repo_id, filename=source.filename, revision=source.revision,
                                   local_dir=str(checkpoints), endpoint=source.endpoint))
    except Exception as e:  # network errors come in many types; the message is what matters
        raise EngineError("err.weights_download", detail=f"{type(e).__name__}: {e}", where=where) from e
    if got.resolve() != target.resolve():
        os.replace(got, target)
    return target


REACH_TIMEOUT_S = 3.0  # a hub that does not accept a connection in this time is treated as unreachable


def _reachable(url: str, timeout: float = REACH_TIMEOUT_S) -> bool:
    """True when a TCP connection to the URL's host and port opens (no request is sent)."""
    import socket
    from urllib.parse import urlparse

    u = urlparse(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    try:
        with socket.create_connection((u.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def read_state_dict(path: Path, map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The generator's state_dict from an official checkpoint file.

    Accepts ``{state_dict, optimizer, global_step, global_epoch}`` or a bare state_dict, keys with or
    without the ``module.`` prefix (DataParallel). Only tensors are unpickled (``weights_only=True``).
    """
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise EngineError("err.checkpoint_unreadable", file=Path(path).name, detail=str(e)) from e
    sd = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(sd, dict):
        raise EngineError("err.checkpoint_no_state", file=Path(path).name)
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}


def load_into(model: torch.nn.Module, sd: dict[str, torch.Tensor], name: str) -> None:
    """Strict load with an error that names missing, unexpected and wrongly shaped keys."""
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    wrong = sorted(k for k in set(own) & set(sd) if tuple(own[k].shape) != tuple(sd[k].shape))
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing keys", missing), ("unexpected keys", unexpected)):
            if keys:
                parts.append(f"{len(keys)} {label} ({', '.join(keys[:5])}{', ...' if len(keys) > 5 else ''})")
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} keys with the wrong shape (e.g. {k}: file {tuple(sd[k].shape)}, "
                         f"model {tuple(own[k].shape)})")
        raise EngineError("err.checkpoint_not_wav2lip", file=name, detail="; ".join(parts))
    model.load_state_dict(sd, strict=True)
