"""Probe, decode and encode with the real ffmpeg binary from imageio-ffmpeg."""
from fractions import Fraction

import numpy as np
import pytest
from conftest import make, shared

from lipsync.errors import MediaError, OutputError
from lipsync.media import VideoWriter, decode_audio_16k, iter_video_frames, probe, read_still
from lipsync.media.encode import partial_path


def test_probe_video_with_audio():
    info = probe(shared("v4_retalk_face5.mp4"))
    assert info.has_video and info.has_audio and not info.is_image
    assert (info.width, info.height) == (524, 524)
    assert info.fps == 25
    assert info.duration == pytest.approx(4.9, abs=0.1)


def test_probe_variable_frame_rate_uses_nominal_rate():
    info = probe(shared("v1_retalk_face1.mp4"))
    assert info.fps == 30
    assert info.avg_fps == pytest.approx(22.1, abs=0.1)


def test_probe_image_and_audio_by_content(tmp_path):
    img = probe(shared("p1_hallo6.jpg"))
    assert img.is_image and (img.width, img.height) == (624, 624)
    # an MP3 renamed .wav is still recognised as the audio it is
    mp3 = make(["-i", str(shared("a5_zh_bus.wav")), "-c:a", "libmp3lame"], tmp_path / "really_mp3.wav")
    info = probe(mp3)
    assert info.has_audio and not info.has_video and info.audio_codec == "mp3"


def test_probe_rejects_text_and_empty_files(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 20)
    with pytest.raises(MediaError, match="notes.mp4"):
        probe(fake)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty.wav.*empty"):
        probe(empty)


def test_rotation_metadata_gives_upright_size(tmp_path):
    src = make(["-f", "lavfi", "-i", "testsrc=size=160x96:rate=10:duration=1", "-pix_fmt", "yuv420p"],
               tmp_path / "flat.mp4")
    rotated = make(["-display_rotation", "90", "-i", str(src), "-c", "copy"], tmp_path / "rot.mp4")
    info = probe(rotated)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (96, 160)
    frame = next(iter_video_frames(info, info.fps))
    assert frame.shape == (160, 96, 3)


@pytest.mark.parametrize("codec,ext", [("libmp3lame", "mp3"), ("flac", "flac"), ("libvorbis", "ogg"),
                                       ("aac", "m4a"), ("aac", "aac")])
def test_decode_audio_formats(tmp_path, codec, ext):
    src = shared("a7_ja.wav")  # 48 kHz stereo 24-bit
    out = make(["-i", str(src), "-t", "2", "-c:a", codec], tmp_path / f"speech.{ext}")
    samples = decode_audio_16k(probe(out))
    assert samples.dtype == np.float32
    assert samples.size / 16000 == pytest.approx(2.0, abs=0.08)
    ref = decode_audio_16k(probe(src))[:16000 * 2]
    # same content as the source (lossy codecs may shift by a few ms: best of small lags)
    n = 16000 * 2 - 2000
    corr = max(np.corrcoef(ref[1000:1000 + n], samples[1000 + k:1000 + k + n])[0, 1] for k in range(-400, 401, 4))
    assert corr > 0.9


def test_decode_audio_of_24bit_stereo_wav():
    samples = decode_audio_16k(probe(shared("a7_ja.wav")))
    assert samples.size / 16000 == pytest.approx(9.09, abs=0.02)


def test_decode_audio_track_of_a_video():
    samples = decode_audio_16k(probe(shared("v2_retalk_face2.mp4")))
    assert samples.size / 16000 == pytest.approx(5.0, abs=0.1)


def test_odd_size_video_is_cropped_to_even(tmp_path):
    odd = make(["-f", "lavfi", "-i", "testsrc=size=161x99:rate=25:duration=1", "-c:v", "libx264",
                "-pix_fmt", "yuv444p"], tmp_path / "odd.mkv")
    frames = list(iter_video_frames(probe(odd), Fraction(25)))
    assert len(frames) == 25
    assert frames[0].shape == (98, 160, 3)


def test_variable_frame_rate_becomes_constant():
    info = probe(shared("v1_retalk_face1.mp4"))
    n = sum(1 for _ in iter_video_frames(info, info.fps))
    assert n == pytest.approx(info.duration * 30, abs=2)


def test_still_image_webp(tmp_path):
    webp = make(["-i", str(shared("p3_sadtalker_people0.png"))], tmp_path / "face.webp")
    frame = read_still(probe(webp))
    assert frame.shape == (474, 474, 3)


def test_writer_renames_only_when_complete(tmp_path, tone_wav):
    final = tmp_path / "out" / "clip.mp4"
    frame = np.full((64, 96, 3), 120, np.uint8)
    with VideoWriter(final, (96, 64), Fraction(25), tone_wav, 1.0) as w:
        for _ in range(25):
            w.write(frame)
        assert partial_path(final).exists() and not final.exists()
        w.close()
    assert final.exists() and not partial_path(final).exists()
    info = probe(final)
    assert info.video_codec == "h264" and info.audio_codec == "aac" and info.fps == 25
    assert (info.width, info.height) == (96, 64)
    data = final.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # +faststart: the index comes first


def test_writer_failure_leaves_no_partial_file(tmp_path, tone_wav):
    final = tmp_path / "crash.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(final, (96, 64), Fraction(25), tone_wav, 1.0) as w:
            w.write(np.zeros((64, 96, 3), np.uint8))
            raise RuntimeError("boom")
    assert not final.exists() and not partial_path(final).exists()


def test_writer_unwritable_folder(tmp_path, tone_wav):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(OutputError, match="Cannot write"):
        VideoWriter(blocker / "x.mp4", (96, 64), Fraction(25), tone_wav, 1.0)


def test_writer_disk_full_gives_a_clear_message(tmp_path, tone_wav):
    """The partial file is made a link to /dev/full: every write fails with the kernel's ENOSPC."""
    final = tmp_path / "full.mp4"
    partial_path(final).symlink_to("/dev/full")
    with pytest.raises(OutputError, match="disk is full"):
        with VideoWriter(final, (96, 64), Fraction(25), tone_wav, 1.0) as w:
            for _ in range(25):
                w.write(np.zeros((64, 96, 3), np.uint8))
            w.close()
    assert not final.exists() and not partial_path(final).exists()


@pytest.mark.parametrize("ext,codec", [("mov", "libx264"), ("avi", "mpeg4"), ("webm", "libvpx"), ("flv", "flv"),
                                       ("mkv", "libx264")])
def test_template_containers(tmp_path, ext, codec):
    path = make(["-f", "lavfi", "-i", "testsrc=size=128x96:rate=25:duration=1", "-c:v", codec,
                 "-pix_fmt", "yuv420p"], tmp_path / f"clip.{ext}")
    info = probe(path)
    assert info.has_video and not info.is_image and (info.width, info.height) == (128, 96)
    frames = list(iter_video_frames(info, Fraction(25)))
    assert len(frames) == 25 and frames[0].shape == (96, 128, 3)
