"""Frame order (ping-pong), spooled streaming, audio mouth targets, mask and blend."""
from fractions import Fraction

import numpy as np
import pytest
from conftest import EXAMPLES, shared

from lipsync.articulation import mouth_targets
from lipsync.audio import load_audio
from lipsync.compose import blend, lower_face_mask, mask_roi
from lipsync.face.analyse import FaceAnalyser
from lipsync.frames import iter_template_frames, output_frame_count, pingpong_index
from lipsync.media import iter_video_frames, probe, read_still


def test_pingpong_has_no_jumps_and_covers_template():
    idx = pingpong_index(5, 23)
    assert idx.tolist()[:13] == [0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3, 4]
    assert np.abs(np.diff(idx)).max() == 1
    assert pingpong_index(10, 4).tolist() == [0, 1, 2, 3]  # longer template is cut
    assert pingpong_index(1, 3).tolist() == [0, 0, 0]


def test_output_length_follows_audio():
    assert output_frame_count(3.0, 25) == 75
    assert output_frame_count(1 / 25, 25) == 1
    assert output_frame_count(0.001, 25) == 1


def test_spooled_pingpong_frames_match_direct_decode(tmp_path):
    info = probe(shared("v4_retalk_face5.mp4"))
    fps = Fraction(25)
    direct = [f.copy() for f in iter_video_frames(info, fps, max_frames=12)]
    index = pingpong_index(12, 40)
    got = list(iter_template_frames(info, fps, index, tmp_path / "spool.raw"))
    assert [i for i, _ in got] == index.tolist()
    for i, frame in got:
        assert np.array_equal(frame, direct[i])
    assert not (tmp_path / "spool.raw").exists()


def test_mouth_targets_closed_in_silence_open_in_speech(burst_audio):
    path, burst = burst_audio
    audio = load_audio(path)
    n = output_frame_count(audio.duration, 25)
    mt = mouth_targets(audio.samples, 25, n, lead_s=0.04)
    t = (np.arange(n) + 0.5) / 25
    speech = np.mod(t, 2 * burst) < burst
    # skip frames next to a boundary (smoothing and lip lead)
    core = np.abs(np.mod(t, burst) - burst / 2) < burst / 2 - 0.12
    assert mt.openness[core & ~speech].max() < 0.05
    assert mt.openness[core & speech].mean() > 0.15  # consonants close the mouth within speech


def test_mouth_targets_silent_audio_is_closed():
    mt = mouth_targets(np.zeros(16000, np.float32), 25, 25)
    assert np.all(mt.openness == 0)


def test_lips_lead_the_sound():
    x = np.zeros(16000 * 2, np.float32)
    rng = np.random.default_rng(0)
    x[16000:] = 0.3 * rng.standard_normal(16000).astype(np.float32)  # sound starts at t = 1.0 s
    early = mouth_targets(x, 25, 50, lead_s=0.12)
    none = mouth_targets(x, 25, 50, lead_s=0.0)
    first = lambda m: int(np.argmax(m.openness > 0.2))  # noqa: E731
    assert first(early) < first(none)


@pytest.fixture(scope="module")
def face_frame():
    frame = read_still(probe(shared("p3_sadtalker_people0.png")))
    with FaceAnalyser(still=True) as fa:
        lm, n, score = fa.analyse(frame)
    assert lm is not None and n == 1 and score > 0.5
    return frame, lm


def test_mask_is_soft_inside_and_zero_outside(face_frame):
    frame, lm = face_frame
    roi, margin = mask_roi(lm, frame.shape)
    mask = lower_face_mask(lm, roi, margin)
    mouth = ((lm[13] + lm[14]) / 2 - [roi.x0, roi.y0]).astype(int)
    assert mask[mouth[1], mouth[0]] == pytest.approx(1.0, abs=1e-3)
    eye = (lm[33] - [roi.x0, roi.y0]).astype(int)
    assert eye[1] < 0 or mask[max(eye[1], 0), max(eye[0], 0)] == 0
    assert mask[0].max() == 0 and mask[-1].max() == 0 and mask[:, 0].max() == 0  # fades out inside the roi
    values = np.unique(mask)
    assert values.size > 20  # feathered, not a hard edge


def test_blend_keeps_everything_outside_the_mask_bit_identical(face_frame):
    frame, lm = face_frame
    roi, margin = mask_roi(lm, frame.shape)
    mask = lower_face_mask(lm, roi, margin)
    patch = np.full((roi.y1 - roi.y0, roi.x1 - roi.x0, 3), 255, np.uint8)
    out = blend(frame, patch, roi, mask)
    full = np.zeros(frame.shape[:2], np.float32)
    full[roi.slices] = mask
    assert np.array_equal(out[full == 0], frame[full == 0])
    assert (out[full > 0.99] >= 253).all()


def test_chunked_stft_equals_one_stft():
    import librosa

    from lipsync.audio import stft_features

    rng = np.random.default_rng(1)
    y = rng.standard_normal(16000 * 3).astype(np.float32)
    chunked = stft_features(y, 800, 200, 800, lambda m: m, chunk_frames=37)
    whole = np.abs(librosa.stft(y, n_fft=800, hop_length=200, win_length=800, pad_mode="reflect"))
    assert chunked.shape == whole.shape
    assert np.abs(chunked - whole).max() < 1e-5


def test_opened_photo_mouth_has_a_round_outline(face_frame):
    """A wide-open warped mouth tapers toward its corners (no dark box with straight sides)."""
    import cv2

    from lipsync.engines.mouth_warp import warp_mouth
    from lipsync.face import landmarks as L

    frame, lm = face_frame
    roi, _ = mask_roi(lm, frame.shape, extra_down=0.5 * L.face_width(lm))
    src = frame[roi.slices]
    out = warp_mouth(src, lm, roi.x0, roi.y0, 1.0)
    before, grey = (cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(int) for x in (src, out))
    # the revealed mouth: its shaded interior (far darker than the face) or its teeth (lighter than before)
    darker = (grey < 0.45 * np.median(before)) | (grey > before + 25)
    left, right = lm[L.MOUTH_LEFT] - [roi.x0, roi.y0], lm[L.MOUTH_RIGHT] - [roi.x0, roi.y0]
    centre, half = (left + right) / 2, abs(right[0] - left[0]) / 2

    def height(share: float) -> int:  # the revealed interior's height at this share of the half width
        return int(sum(darker[:, int(round(centre[0] + side * share * half))].sum() for side in (-1, 1)) / 2)

    assert height(0.0) > 0.2 * half                 # the mouth is wide open
    # the box this replaced was as tall near its corners as in the middle (ratio 1.0; now about 0.75)
    assert height(0.9) < 0.85 * height(0.0), (height(0.9), height(0.0))


def test_the_opened_mouth_is_redder_inside_than_its_lips(face_frame):
    """The photo warp's interior takes the lips' colour, darker and redder (as real mouths measure), not
    a neutral dark hole: red over blue-green of the inside above the lips' own."""
    import cv2

    from lipsync.engines.mouth_warp import face_colours, warp_mouth
    from lipsync.face import landmarks as L

    frame, lm = face_frame
    roi, _ = mask_roi(lm, frame.shape, extra_down=0.5 * L.face_width(lm))
    src = frame[roi.slices]
    out = warp_mouth(src, lm, roi.x0, roi.y0, 1.0)
    before, grey = (cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(int) for x in (src, out))
    # the revealed, shaded interior: newly dark (not its teeth, not hair already dark in the photo)
    inside = out[(grey < 0.6 * np.median(before)) & (before - grey > 40)].astype(np.float32)
    assert len(inside) > 200
    lips = face_colours(src, lm, roi.x0, roi.y0)[0]

    def redness(bgr: np.ndarray) -> float:
        return float(bgr[2] / (bgr[0] + bgr[1]))

    # tinted 1.25x the lips' redness; untinted (the lips' colour only darkened) 1.08x
    assert redness(inside.mean(0)) > 1.15 * redness(lips), (inside.mean(0), lips)


def test_closing_a_smile_with_teeth_meets_the_lips_over_the_teeth():
    """The demo photo smiles with its teeth showing; closed for a b/p/m, both lips meet at the seam. (The
    opening's split, the lower lip moving 0.82 of the gap, stopped the lower lip at the seam and left the
    upper teeth as a white dashed line: the seam's brightest pixels 36 grey levels above the lips.)"""
    import cv2

    from lipsync.engines.mouth_warp import GAP_PER_AMOUNT, face_colours, warp_mouth
    from lipsync.face import landmarks as L

    frame = read_still(probe(EXAMPLES / "demo_face.png"))
    with FaceAnalyser(still=True) as fa:
        lm = fa.analyse(frame)[0]
    assert L.mouth_opening(lm) > 0.1  # the teeth show between the lips
    roi, _ = mask_roi(lm, frame.shape, extra_down=0.5 * L.face_width(lm))
    out = frame.copy()
    out[roi.slices] = warp_mouth(frame[roi.slices], lm, roi.x0, roi.y0,
                                  -float(L.mouth_opening(lm)) / GAP_PER_AMOUNT)
    # along the seam (midway between the inner lip contours), the middle 60 % of the mouth's width
    mid = (lm[L.UPPER_LIP_INNER] + lm[L.LOWER_LIP_INNER]) / 2
    left, right = lm[L.MOUTH_LEFT][0], lm[L.MOUTH_RIGHT][0]
    xs = np.arange(int(left + 0.2 * (right - left)), int(right - 0.2 * (right - left)))
    order = np.argsort(mid[:, 0])
    ys = np.round(np.interp(xs, mid[order, 0], mid[order, 1])).astype(int)
    grey = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(float)
    seam = np.array([grey[y - 1:y + 2, x].max() for x, y in zip(xs, ys)])
    lips = float(face_colours(frame, lm, 0, 0)[0] @ [0.114, 0.587, 0.299])
    assert np.median(seam) < lips + 15, (np.median(seam), lips)


def test_warped_lips_round_and_spread_about_as_far_as_a_real_speakers(face_frame):
    """Rounding ("oo") and spreading ("ee") as mediapipe measures them on the output: real speakers'
    mouth width spans 0.25 of its median over speech (5-95 %, 13 clips); the warp's full rounding to full
    spreading spans at least 0.2 of the neutral width, rounding narrowing more than spreading widens.
    (At 0.2 either way, the warp spanned 0.16 and rounded to 0.91.)"""
    from lipsync.engines.mouth_bank import shape_features
    from lipsync.engines.mouth_warp import warp_mouth
    from lipsync.face import landmarks as L

    frame, lm = face_frame
    roi, _ = mask_roi(lm, frame.shape, extra_down=0.5 * L.face_width(lm))
    widths = []
    with FaceAnalyser(still=True) as fa:
        for amount in (-1.0, 0.0, 1.0):
            out = frame.copy()
            out[roi.slices] = warp_mouth(frame[roi.slices], lm, roi.x0, roi.y0, 0.3, amount)
            widths.append(float(shape_features(fa.analyse(out)[0])["width"]))
    rounded, spread = widths[0] / widths[1], widths[2] / widths[1]
    assert rounded < 0.9 and spread > 1.07 and spread - rounded > 0.2, (rounded, spread)
    assert 1 - rounded > spread - 1


def test_opening_an_open_mouth_paints_no_second_row_of_teeth(face_frame):
    """A reused real mouth that already shows its teeth is opened further at its seam, between its own
    upper and lower teeth: the gap is dark, with no painted teeth (they made a white bar mid-mouth)."""
    import cv2

    from lipsync.engines.mouth_warp import JAW_DROP, face_colours, warp_mouth
    from lipsync.face import landmarks as L

    frame, lm = face_frame
    roi, _ = mask_roi(lm, frame.shape, extra_down=0.6 * L.face_width(lm))
    opened = frame.copy()
    opened[roi.slices] = warp_mouth(frame[roi.slices], lm, roi.x0, roi.y0, 0.8)  # now showing teeth
    with FaceAnalyser(still=True) as fa:
        lm_open = fa.analyse(opened)[0]
    assert L.mouth_opening(lm_open) > 0.2
    again = opened.copy()
    again[roi.slices] = warp_mouth(opened[roi.slices], lm_open, roi.x0, roi.y0, 0.6)
    lip_grey = float(face_colours(opened, lm_open, 0, 0)[0] @ [0.114, 0.587, 0.299])
    mw = float(np.linalg.norm(lm_open[L.MOUTH_RIGHT] - lm_open[L.MOUTH_LEFT]))
    seam = (lm_open[L.LIP_TOP] + lm_open[L.LIP_BOTTOM]) / 2
    x, y = int(round(seam[0])), int(seam[1])
    gap = cv2.cvtColor(again, cv2.COLOR_BGR2GRAY)[y:int(y + JAW_DROP * mw * 0.6), x - 2:x + 3]  # the lower lip's drop
    # painted teeth there measured 174 against lips of 134; the dark gap measures about 70
    assert gap.max() < lip_grey, (gap.max(), lip_grey)
