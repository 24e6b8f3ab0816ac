"""Quick evaluation of a template: is it a good face video to lip-sync, and why (not)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .audio import speech_activity
from .face import FaceTrack
from .face import landmarks as L
from .media import MediaInfo, decode_audio_16k


@dataclass(frozen=True)
class ReportSettings:
    """Where a template stops being good (-> usable) or usable (-> poor)."""

    #: share of frames with a face: below "poor" too many frames stay unchanged
    face_share_poor: float = 0.7
    face_share_usable: float = 0.97
    #: face width in pixels: the mouth of a small face has too few pixels to look right
    face_px_poor: float = 80
    face_px_usable: float = 160
    #: 90th percentile of the head-turn proxy (eye distances): frontal is below "usable"
    turn_poor: float = 0.25
    turn_usable: float = 0.12
    #: spread of the nose position, in face widths
    motion_usable: float = 0.5
    #: share of frames with more than one face
    two_faces_usable: float = 0.2


REPORT = ReportSettings()


@dataclass
class TemplateReport:
    """Facts about a template and a verdict (good / usable / poor) with reasons and advice."""

    name: str
    width: int
    height: int
    fps: float
    seconds: float
    is_photo: bool
    face_share: float          #: frames with a face, 0..1
    face_width_px: float       #: median face width
    turn: float                #: 90th percentile of |yaw proxy| (0 = frontal)
    head_motion: float         #: std of the nose position, in face widths
    mouth_visible: float       #: share of frames where the mouth landmarks are inside the frame
    mouth_moves: bool          #: the template's own mouth opens and closes (reused by the built-in engine)
    speech_share: float        #: share of the template's audio that is speech (0 when it has none)
    two_faces: float           #: share of frames where more than one face was detected
    has_sound: bool = True     #: the template file has an audio track
    verdict: str = "good"
    reasons: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def _head_words(self) -> str:
        turn = "looks straight at the camera" if self.turn < REPORT.turn_usable else \
            "is somewhat turned" if self.turn <= REPORT.turn_poor else "is turned away from the camera"
        if self.is_photo:
            return turn
        still = "keeps still" if self.head_motion < 0.15 else "moves a little" \
            if self.head_motion <= REPORT.motion_usable else "moves a lot"
        return f"{turn} and {still}"

    def _sound_words(self) -> str:
        if self.is_photo:
            return "A photo has no sound (that is fine: the new recording gives the video its sound)."
        if not self.has_sound:
            return "The video has no sound (that is fine: the new recording replaces it)."
        return f"The person speaks in {self.speech_share:.0%} of the video's own sound (it is replaced by " \
               f"the new recording)."

    def to_markdown(self) -> str:
        kind = "photo" if self.is_photo else f"{self.fps:g} frames per second, {self.seconds:.1f} seconds"
        lines = [f"### {self.verdict.upper()}: {self.name}", "",
                 f"- Picture: {self.width} x {self.height} ({kind})",
                 f"- Face found in {self.face_share:.0%} of the picture's frames, about {self.face_width_px:.0f} "
                 f"pixels wide",
                 f"- The head {self._head_words()}",
                 f"- The mouth is visible in {self.mouth_visible:.0%} of frames and "
                 + ("moves (the person talks: the built-in engine reuses these real mouth movements)"
                    if self.mouth_moves else "hardly moves"),
                 f"- {self._sound_words()}"]
        if self.reasons:
            lines += ["", "**Why:** " + "; ".join(self.reasons)]
        if self.advice:
            lines += ["", "**To re-record:** " + " ".join(self.advice)]
        return "\n".join(lines)


def evaluate(info: MediaInfo, track: FaceTrack, s: ReportSettings = REPORT) -> TemplateReport:
    """Build the report from the probe and the (cached) face analysis."""
    lm = track.landmarks[track.valid]
    width = L.face_width(lm) if lm.size else np.zeros(1)
    face_w = float(np.median(width))
    turn = float(np.percentile(np.abs(L.yaw_proxy(lm)), 90)) if lm.size else 1.0  # turns matter even if brief
    motion = float(np.linalg.norm(lm[:, L.NOSE_TIP].std(axis=0)) / max(face_w, 1)) if len(lm) > 1 else 0.0
    mouth = lm[:, L.UPPER_LIP_OUTER + L.LOWER_LIP_OUTER] if lm.size else np.zeros((0, 1, 2))
    inside = ((mouth[..., 0] >= 0) & (mouth[..., 0] < track.width) & (mouth[..., 1] >= 0)
              & (mouth[..., 1] < track.height)).all(axis=1)
    mouth_visible = float(inside.sum() / max(track.n_frames, 1))
    speech = 0.0
    if info.has_audio and not info.is_image:
        try:
            vad, _, _ = speech_activity(decode_audio_16k(info))
            speech = float(vad.mean()) if vad.size else 0.0
        except Exception:
            speech = 0.0
    r = TemplateReport(name=info.path.name, width=track.width, height=track.height, fps=track.fps,
                       seconds=0.0 if track.is_still else track.n_frames / track.fps, is_photo=track.is_still,
                       face_share=track.face_ratio, face_width_px=face_w, turn=turn, head_motion=motion,
                       mouth_visible=mouth_visible, mouth_moves=track.is_talking(),
                       speech_share=speech, two_faces=float((track.n_faces > 1).mean()),
                       has_sound=bool(info.has_audio))
    poor, usable = [], []
    if r.face_share < s.face_share_poor:
        poor.append(f"the face is missing in {1 - r.face_share:.0%} of frames")
    elif r.face_share < s.face_share_usable:
        usable.append(f"the face is missing in {1 - r.face_share:.0%} of frames (those stay unchanged)")
    if face_w < s.face_px_poor:
        poor.append(f"the face is small ({face_w:.0f} px wide)")
    elif face_w < s.face_px_usable:
        usable.append(f"the face is rather small ({face_w:.0f} px wide)")
    if turn > s.turn_poor:
        poor.append("the head is turned away from the camera")
    elif turn > s.turn_usable:
        usable.append("the head is somewhat turned")
    if motion > s.motion_usable:
        usable.append("the head moves a lot")
    if mouth_visible < 0.9 * r.face_share:
        usable.append("the mouth is sometimes outside the picture")
    if r.two_faces > s.two_faces_usable:
        usable.append("more than one face is visible")
    r.reasons = poor + usable
    r.verdict = "poor" if poor else "usable" if usable else "good"
    advice = {"face is missing": "Keep the whole face in the picture all the time.",
              "small": "Film closer: the face should fill at least a third of the picture width.",
              "turned": "Look straight into the camera.",
              "moves a lot": "Keep the head fairly still.",
              "outside the picture": "Leave room below the chin.",
              "more than one face": "Only one person in the picture."}
    r.advice = [tip for key, tip in advice.items() if any(key in reason for reason in r.reasons)]
    if not r.mouth_moves and not r.is_photo:
        r.advice.append("Tip: a template where the person talks naturally gives the built-in engine real "
                        "mouth movements to reuse.")
    return r
