"""Wav2Lip engine: official weights, MediaPipe face boxes, landmark-mask blending (no hard paste)."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ...audio import wav2lip_mel, wav2lip_mel_window
from ...compose import mask_roi
from ...config import Settings
from ...errors import EngineError
from ...face import landmarks as L
from ..base import FrameIn, Patch, RenderJob
from .net import Wav2Lip
from .weights import WeightsSource, ensure_weights, load_into, read_state_dict

log = logging.getLogger("lipsync.engines.wav2lip")

IMG = 96
BOX_SMOOTH = 5       # frames (official: 5)
BOTTOM_PAD = 0.05    # of the face height (official: 10 px below S3FD's box)


def pick_device(requested: str) -> torch.device:
    """"auto" -> the first CUDA GPU when there is one, else the CPU."""
    if requested in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(requested)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EngineError("err.no_cuda", device=requested)
    return dev


def cpu_supports_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:
        return False


def face_boxes(landmarks: np.ndarray, valid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, 4) int boxes x0, y0, x1, y1 around each frame's face, smoothed over BOX_SMOOTH frames."""
    w, h = size
    boxes = np.full((valid.size, 4), np.nan)
    idx = np.flatnonzero(valid)
    boxes[idx] = L.face_box(landmarks[idx])
    boxes[idx, 3] += BOTTOM_PAD * (boxes[idx, 3] - boxes[idx, 1])
    smooth = boxes.copy()
    half = BOX_SMOOTH // 2
    for i in idx:
        win = boxes[max(0, i - half): i + half + 1]
        smooth[i] = np.nanmean(win, axis=0)
    out = np.zeros((valid.size, 4), np.int64)
    out[idx] = np.round(smooth[idx]).astype(np.int64)
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h)
    return out


@dataclass
class Wav2LipState:
    mel: np.ndarray
    boxes: np.ndarray
    fps: float
    #: frames per forward pass for this job: starts at the memory-based size, halved on out-of-memory
    #: for this job only (the next job starts from the memory-based size again)
    batch: int = 1


class Wav2LipEngine:
    """Loads the generator once per process on its device; renders frames in batches."""

    name = "wav2lip"

    def __init__(self, settings: Settings, source: WeightsSource | None = None, download: bool = True):
        self.settings = settings
        self.dev = pick_device(settings.device)
        self.device = str(self.dev)
        path = ensure_weights(settings.checkpoints_dir, source, download=download)
        model = Wav2Lip()
        load_into(model, read_state_dict(path), path.name)
        model.eval()
        self.fp16 = self.dev.type == "cuda"
        self.bf16 = self.dev.type == "cpu" and cpu_supports_bf16()
        if self.fp16:
            torch.backends.cudnn.benchmark = True
            model = model.half()
        model = model.to(self.dev, memory_format=torch.channels_last)
        self.model = model
        self.batch_size = self._initial_batch_size()
        self._lock = threading.Lock()
        self._mel_cache: tuple[tuple, np.ndarray] | None = None
        log.info("Wav2Lip loaded from %s on %s (%s, batch %d)", path.name, self.device,
                 "fp16" if self.fp16 else "bf16 autocast" if self.bf16 else "fp32", self.batch_size)

    def _initial_batch_size(self) -> int:
        if self.dev.type != "cuda":
            return 32
        free, _ = torch.cuda.mem_get_info(self.dev)
        return int(np.clip(free // (48 << 20), 8, 256))  # ~48 MB of activations per frame at fp16, measured loosely

    # -- per job ---------------------------------------------------------------------------------
    def prepare(self, job: RenderJob) -> Wav2LipState:
        """Mel once per audio (reused across a batch) and smoothed face boxes for the template."""
        key = (str(job.audio.path), job.audio.samples.size, float(job.audio.samples[: 4096].sum()))
        with self._lock:
            if self._mel_cache is None or self._mel_cache[0] != key:
                self._mel_cache = (key, wav2lip_mel(job.audio.samples))
            mel = self._mel_cache[1]
        boxes = face_boxes(job.track.landmarks, job.track.valid, (job.track.width, job.track.height))
        with self._lock:
            if self.dev.type == "cuda":  # what fits now (another process may hold some of the memory)
                self.batch_size = self._initial_batch_size()
            batch = self.batch_size
        return Wav2LipState(mel=mel, boxes=boxes, fps=float(job.fps), batch=batch)

    def batch_for(self, state: Wav2LipState) -> int:
        """The pipeline hands over as many frames as one forward pass takes."""
        return state.batch

    # -- per batch -------------------------------------------------------------------------------
    def render(self, state: Wav2LipState, frames: list[FrameIn]) -> list[Patch | None]:
        todo = [f for f in frames if f.landmarks is not None and self._box_ok(state.boxes[f.src_index])]
        if not todo:
            return [None] * len(frames)
        faces = np.empty((len(todo), IMG, IMG, 6), np.float32)
        mels = np.empty((len(todo), 1, 80, 16), np.float32)
        for n, f in enumerate(todo):
            x0, y0, x1, y1 = state.boxes[f.src_index]
            crop = cv2.resize(f.image[y0:y1, x0:x1], (IMG, IMG), interpolation=cv2.INTER_AREA)
            faces[n, ..., 3:] = crop
            faces[n, ..., :3] = crop
            faces[n, IMG // 2:, :, :3] = 0  # the lower half is what the model must draw
            mels[n, 0] = wav2lip_mel_window(state.mel, f.out_index, state.fps)
        faces /= 255.0
        preds = self._infer(state, mels, faces.transpose(0, 3, 1, 2))
        out: dict[int, Patch] = {}
        for f, pred in zip(todo, preds):
            out[f.out_index] = self._patch(f, state.boxes[f.src_index], pred)
        return [out.get(f.out_index) for f in frames]

    @staticmethod
    def _box_ok(box: np.ndarray) -> bool:
        return box[2] - box[0] >= 8 and box[3] - box[1] >= 8

    def _patch(self, f: FrameIn, box: np.ndarray, pred: np.ndarray) -> Patch:
        x0, y0, x1, y1 = (int(v) for v in box)
        roi, _ = mask_roi(f.landmarks, f.image.shape)
        patch = f.image[roi.slices].copy()
        face = cv2.resize(pred, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
        # paste the part of the face box that lies inside the roi; compose feathers it with the mask
        ix0, iy0, ix1, iy1 = max(x0, roi.x0), max(y0, roi.y0), min(x1, roi.x1), min(y1, roi.y1)
        if ix1 > ix0 and iy1 > iy0:
            patch[iy0 - roi.y0:iy1 - roi.y0, ix0 - roi.x0:ix1 - roi.x0] = face[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        return Patch(roi, patch)

    def _infer(self, state: Wav2LipState, mels: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """Run the generator over the frames in chunks of this job's batch; on out-of-memory the chunk is
        retried with half as many frames (for this job only). Fails only when one frame does not fit."""
        results = []
        i = 0
        while i < len(faces):
            n = state.batch
            try:
                results.append(self._forward(mels[i:i + n], faces[i:i + n]))
                i += n
            except torch.OutOfMemoryError as e:
                if state.batch <= 1:
                    raise EngineError("err.gpu_oom") from e
                state.batch //= 2
                if self.dev.type == "cuda":
                    torch.cuda.empty_cache()
                log.warning("out of memory: this job goes on with batches of %d frames", state.batch)
        return np.concatenate(results)

    def _forward(self, mels: np.ndarray, faces: np.ndarray) -> np.ndarray:
        with self._lock, torch.inference_mode():
            dtype = torch.float16 if self.fp16 else torch.float32
            m = torch.from_numpy(mels).to(self.dev, dtype)
            x = torch.from_numpy(np.ascontiguousarray(faces)).to(self.dev, dtype).contiguous(
                memory_format=torch.channels_last)
            if self.bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    y = self.model(m, x)
            else:
                y = self.model(m, x)
            y = y.float().clamp_(0, 1).mul_(255).permute(0, 2, 3, 1)
            return y.round().to(torch.uint8).cpu().numpy()
