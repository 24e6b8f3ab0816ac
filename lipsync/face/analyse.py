"""MediaPipe face detection + 468-point face mesh on every template frame."""
from __future__ import annotations

import logging
from fractions import Fraction
from typing import Callable, Iterable

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..errors import NoFaceError
from ..media import MediaInfo, iter_video_frames, read_still
from .track import FaceTrack

log = logging.getLogger("lipsync.face")

ANALYSER_VERSION = 1
ANALYSIS_MAX_SIDE = 640  # mesh accuracy is limited by its 192 px crop anyway; big frames only cost time


def _mediapipe():
    # the process-wide set-up (quiet native logs, warning filters) is done once by the entry points:
    # lipsync.process.init_process
    import mediapipe as mp

    return mp.solutions


class FaceAnalyser:
    """Runs detection + mesh frame by frame. Not thread-safe: one instance per analysis.

    ``face`` = N (1-based, counted left to right in the first frame with faces) follows that face: each
    frame, the detection nearest to where it was is cut out (with a margin) and only that crop goes to
    the mesh, so another face in the picture is never tracked. None: the face MediaPipe finds."""

    CHOSEN_MARGIN = 0.6  # of the face box on each side: the mesh needs the whole head around the face

    def __init__(self, still: bool = False, face: int | None = None):
        self.face, self._centre = face, None
        sol = _mediapipe()
        self._det = _detector()
        self._mesh = sol.face_mesh.FaceMesh(static_image_mode=still, max_num_faces=1, refine_landmarks=False,
                                            min_detection_confidence=0.5, min_tracking_confidence=0.5)

    def close(self) -> None:
        self._det.close()
        self._mesh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def analyse(self, frame: np.ndarray) -> tuple[np.ndarray | None, int, float]:
        """(landmarks (468,2) in pixels or None, number of faces detected, detector score)."""
        h, w = frame.shape[:2]
        scale = min(1.0, ANALYSIS_MAX_SIDE / max(h, w))
        small = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) \
            if scale < 1 else frame
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        det = self._det.process(rgb).detections or []
        score = max((d.score[0] for d in det), default=0.0)
        if self.face is not None:
            return self._chosen(frame, det), len(det), score
        res = self._mesh.process(rgb).multi_face_landmarks
        if not res:
            return None, len(det), score
        pts = np.array([(p.x * w, p.y * h) for p in res[0].landmark], dtype=np.float32)
        return pts, max(len(det), 1), score

    def _chosen(self, frame: np.ndarray, det: list) -> np.ndarray | None:
        """The mesh of the chosen face only (None while it is not in the picture)."""
        h, w = frame.shape[:2]
        boxes = np.array([[b.xmin, b.ymin, b.width, b.height] for b in
                          (d.location_data.relative_bounding_box for d in det)]) * [w, h, w, h] \
            if det else np.zeros((0, 4))
        centres = boxes[:, :2] + boxes[:, 2:] / 2
        if self._centre is None:
            if len(boxes) < self.face:
                return None
            pick = int(np.argsort(centres[:, 0])[self.face - 1])
        elif len(boxes):
            pick = int(np.argmin(np.linalg.norm(centres - self._centre, axis=1)))
        else:
            return None
        x, y, bw, bh = boxes[pick]
        self._centre = centres[pick]
        return mesh_in_box(self._mesh, frame, (x, y, x + bw, y + bh), self.CHOSEN_MARGIN, ANALYSIS_MAX_SIDE)


class MeshTracker:
    """The mesh alone, on a crop around where the face already is (no detector, tracking mode): how the
    quality check measures an output's mouth cheaply. Not thread-safe: one per video."""

    MARGIN = 0.35  # of the face box on each side: the crop must hold the whole face as it moves
    CROP_SIDE = 256  # the mesh model sees 192 px anyway; a bigger crop only costs conversion time

    def __init__(self):
        self._mesh = _mediapipe().face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                                     refine_landmarks=False, min_detection_confidence=0.5,
                                                     min_tracking_confidence=0.5)

    def __call__(self, frame: np.ndarray, hint: np.ndarray) -> np.ndarray | None:
        """Landmarks (468, 2) in frame pixels near the ``hint`` landmarks, or None."""
        (x0, y0), (x1, y1) = hint.min(axis=0), hint.max(axis=0)
        return mesh_in_box(self._mesh, frame, (x0, y0, x1, y1), self.MARGIN, self.CROP_SIDE)

    def close(self) -> None:
        self._mesh.close()


MIN_CROP = 16  # pixels: a smaller crop cannot hold a face


def mesh_in_box(mesh, frame: np.ndarray, box: tuple[float, float, float, float], margin: float,
                max_side: int) -> np.ndarray | None:
    """The mesh of the face in ``box`` (x0, y0, x1, y1) only: the box grown by ``margin`` of its longer
    side, cut out, scaled to at most ``max_side``; landmarks back in frame pixels, or None."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = box
    m = margin * max(x1 - x0, y1 - y0)
    xa, ya, xb, yb = int(max(0, x0 - m)), int(max(0, y0 - m)), int(min(w, x1 + m)), int(min(h, y1 + m))
    if xb - xa < MIN_CROP or yb - ya < MIN_CROP:
        return None
    crop = frame[ya:yb, xa:xb]
    scale = min(1.0, max_side / max(crop.shape[:2]))
    if scale < 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    res = mesh.process(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)).multi_face_landmarks
    if not res:
        return None
    ch, cw = crop.shape[:2]
    return np.array([(xa + p.x * cw / scale, ya + p.y * ch / scale) for p in res[0].landmark], np.float32)


def _detector():
    """MediaPipe's face detector as every analysis here uses it (full-range model)."""
    return _mediapipe().face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)


def smooth_runs(values: np.ndarray, valid: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian smoothing over time (axis 0) within each run of frames that have a face; the frames
    without one are left as they are."""
    out = values.copy()
    idx = np.flatnonzero(valid)
    if idx.size < 3:
        return out
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    for run in runs:
        if run.size >= 3:
            out[run] = gaussian_filter1d(values[run], sigma=sigma, axis=0, mode="nearest")
    return out


def quick_face_check(info: MediaInfo, samples: int = 6) -> None:
    """Reject a template with no face at all from a few sampled frames, before the full analysis."""
    if info.is_image:
        return  # the full analysis of a still is one frame anyway
    duration = info.duration or 1.0
    rate = Fraction(samples, 1) / Fraction(max(duration, 0.1)).limit_denominator(1000)
    with FaceAnalyser(still=True) as fa:
        for frame in iter_video_frames(info, rate, max_frames=samples):
            if fa.analyse(frame)[0] is not None:
                return
    raise NoFaceError("err.no_face", file=info.path.name)


def analyse_frames(frames: Iterable[np.ndarray], key: str, size: tuple[int, int], fps: float,
                   name: str, is_still: bool = False,
                   progress: Callable[[int], None] | None = None, face: int | None = None) -> FaceTrack:
    """Analyse a stream of frames into a smoothed FaceTrack (of the chosen ``face``, if given).
    Raises NoFaceError if no frame has a face."""
    lms, valid, n_faces, scores = [], [], [], []
    with FaceAnalyser(still=is_still, face=face) as fa:
        for i, frame in enumerate(frames):
            pts, n, score = fa.analyse(frame)
            valid.append(pts is not None)
            lms.append(pts if pts is not None else np.full((468, 2), np.nan, np.float32))
            n_faces.append(n)
            scores.append(score)
            if progress and i % 10 == 0:
                progress(i)
    valid_a = np.array(valid, dtype=bool)
    if not valid_a.any():
        raise NoFaceError("err.no_face_any_frame", file=name)
    landmarks = smooth_runs(np.stack(lms), valid_a)
    track = FaceTrack(key=key, width=size[0], height=size[1], fps=fps, landmarks=landmarks,
                      valid=valid_a, n_faces=np.array(n_faces, dtype=np.int16),
                      det_score=np.array(scores, dtype=np.float32), is_still=is_still)
    missing = int((~valid_a).sum())
    if missing:
        log.info("%s: no face in %d of %d frames (those frames are kept unchanged)", name, missing,
                 valid_a.size)
    return track


def analyse_template(info: MediaInfo, fps: Fraction, key: str,
                     progress: Callable[[int], None] | None = None, face: int | None = None) -> FaceTrack:
    """Analyse a template file (video or still) frame by frame at ``fps`` (following the chosen ``face``)."""
    quick_face_check(info)
    if info.is_image:
        frame = read_still(info)
        h, w = frame.shape[:2]
        return analyse_frames([frame], key, (w, h), float(fps), info.path.name, True, progress, face)
    from ..media.decode import check_frame_size

    size = check_frame_size(info)
    return analyse_frames(iter_video_frames(info, fps), key, size, float(fps), info.path.name,
                          False, progress, face)


def find_faces(info: MediaInfo, thumb: int = 128) -> list[np.ndarray]:
    """Square thumbnails of the faces in the first frame that has any, left to right (what ``face=N``
    counts)."""
    rate = Fraction(2, 1)
    frames = [read_still(info)] if info.is_image else iter_video_frames(info, rate, max_frames=20)
    det_model = _detector()
    try:
        for frame in frames:
            det = det_model.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).detections or []
            if det:
                boxes = sorted((d.location_data.relative_bounding_box for d in det), key=lambda b: b.xmin)
                return [_thumb(frame, b, thumb) for b in boxes]
    finally:
        det_model.close()
    return []


def _thumb(frame: np.ndarray, box, size: int) -> np.ndarray:
    h, w = frame.shape[:2]
    side = 1.4 * max(box.width * w, box.height * h)
    cx, cy = (box.xmin + box.width / 2) * w, (box.ymin + box.height / 2) * h
    xa, ya = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    crop = frame[ya:int(min(h, cy + side / 2)), xa:int(min(w, cx + side / 2))]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
