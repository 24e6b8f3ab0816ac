"""Face analysis with the real MediaPipe models and its on-disk cache."""
from fractions import Fraction

import numpy as np
import pytest
from conftest import shared

from lipsync.errors import NoFaceError
from lipsync.face import FaceCache, content_hash
from lipsync.face import landmarks as L
from lipsync.media import probe


def test_analysis_finds_a_talking_face_and_is_cached_on_disk(tmp_path):
    info = probe(shared("v4_retalk_face5.mp4"))
    cache = FaceCache(tmp_path / "faces")
    track = cache.get(info, Fraction(25))
    assert cache.analyses == 1
    assert track.n_frames == pytest.approx(4.9 * 25, abs=2)
    assert track.face_ratio > 0.95
    lm = track.landmarks[track.valid]
    assert lm.shape[1:] == (468, 2)
    # the mouth sits below the eyes, inside the frame
    assert (lm[:, L.LIP_TOP, 1] > lm[:, L.EYE_OUTER_L, 1]).all()
    assert ((lm >= -5) & (lm <= 530)).all()
    # she talks: the measured opening varies
    o = track.openness()[track.valid]
    assert o.max() - o.min() > 0.15
    # same content under another name, in a new process (new cache object): no second analysis
    copy = tmp_path / "renamed copy.mp4"
    copy.write_bytes(info.path.read_bytes())
    again = FaceCache(tmp_path / "faces")
    track2 = again.get(probe(copy), Fraction(25))
    assert again.analyses == 0
    assert np.array_equal(track2.landmarks, track.landmarks, equal_nan=True)
    assert content_hash(copy) == content_hash(info.path)


def test_still_photo_is_one_frame(tmp_path):
    track = FaceCache(tmp_path).get(probe(shared("p1_hallo6.jpg")), Fraction(25))
    assert track.is_still and track.n_frames == 1 and track.valid.all()


def test_no_face_is_rejected_with_the_file_name(tmp_path, no_face_video):
    cache = FaceCache(tmp_path)
    with pytest.raises(NoFaceError, match="test_pattern.mp4.*no face"):
        cache.get(probe(no_face_video), Fraction(25))
    assert cache.analyses == 0  # the quick check refused it before the full analysis


def test_damaged_cache_file_is_recomputed(tmp_path):
    info = probe(shared("p3_sadtalker_people0.png"))
    cache = FaceCache(tmp_path)
    track = cache.get(info, Fraction(25))
    cache.path_for(track.key).write_bytes(b"garbage")
    fresh = FaceCache(tmp_path)
    assert fresh.get(info, Fraction(25)).valid.all()
    assert fresh.analyses == 1
