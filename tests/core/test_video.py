"""Video sources: frame-accurate random access on real clips, folders, and clear errors on bad input."""

from __future__ import annotations

import os
import shutil

import cv2
import numpy as np
import pytest

from core.errors import VideoError
from core.video import open_source, parse_source, resize_to_width
from tests.conftest import shared_path, write_mjpg_avi

CLIPS = [
    ("fall", "thanhnc58_Fall04.mp4"),            # h264 portrait, ~29 fps
    ("normal", "openpose_examples_video.avi"),   # 50 fps
    ("normal", "vtest_pets2009_480x360.avi"),    # 10 fps
    ("fight", "fi003.mp4"),                      # 25 fps CCTV
    ("theft", "stock_cctv_shoplifting_candy.mp4"),  # 23.976 fps
]


def _sequential(path, limit=None):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while limit is None or len(frames) < limit:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return frames


@pytest.mark.parametrize("folder,name", CLIPS)
def test_seek_matches_sequential_decode(folder, name):
    path = shared_path("data", "videos", folder, name)
    ref = _sequential(path)
    rng = np.random.default_rng(1)
    with open_source(path) as src:
        assert src.info.frame_count == len(ref)
        # far jumps back and forth, short forward steps, repeats, first and last frame
        order = list(rng.integers(0, len(ref), 12)) + [len(ref) - 1, 0, 1, 2, 10, 9, len(ref) // 2, len(ref) // 2 + 3]
        for i in order:
            fr = src.read(int(i))
            assert fr.index == i
            assert fr.time_s == pytest.approx(i / src.info.fps)
            assert np.array_equal(fr.image, ref[i]), f"{name}: frame {i} differs from sequential decode"


def test_sequential_iteration_and_fps(street_clip, pets_clip):
    with open_source(street_clip) as s:
        assert s.info.fps == pytest.approx(50.0)
        assert (s.info.width, s.info.height) == (1280, 720)
        idx = [f.index for f in s.frames(10, 40, 5)]
        assert idx == [10, 15, 20, 25, 30, 35]
    with open_source(pets_clip) as s:
        assert s.info.fps == pytest.approx(10.0)
        assert s.info.duration_s == pytest.approx(79.5, abs=1)


def test_frames_folder(tmp_path, fall04):
    ref = _sequential(fall04, limit=12)
    for i, img in enumerate(ref):  # names sort naturally: frame_2 before frame_10
        cv2.imwrite(str(tmp_path / f"frame_{i}.png"), img)
    with open_source(tmp_path, fps=12.5) as s:
        assert s.info.kind == "folder" and s.info.frame_count == 12 and s.info.fps == 12.5
        assert np.array_equal(s.read(10).image, ref[10])
        assert s.read(10).time_s == pytest.approx(0.8)
        assert [f.index for f in s.frames()] == list(range(12))


def test_parse_source_kinds(tmp_path, fall04):
    assert parse_source("0") == ("webcam", 0)
    assert parse_source("webcam:2") == ("webcam", 2)
    assert parse_source("rtsp://127.0.0.1:8554/cam")[0] == "stream"
    assert parse_source("http://127.0.0.1/video.mjpg")[0] == "stream"
    assert parse_source(fall04)[0] == "file"
    assert parse_source(tmp_path)[0] == "folder"


def test_resize_to_width():
    img = np.zeros((720, 1280, 3), np.uint8)
    small, s = resize_to_width(img, 640)
    assert small.shape == (360, 640, 3) and s == 0.5
    same, s = resize_to_width(img, None)
    assert same is img and s == 1.0


# --- bad input: one clear message each ---



def test_missing_path():
    with pytest.raises(VideoError, match="video not found"):
        open_source("/nonexistent/clip.mp4")


def test_unsupported_extension(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello")
    with pytest.raises(VideoError, match="unsupported file type"):
        open_source(p)


def test_corrupt_file(tmp_path):
    p = tmp_path / "corrupt.mp4"
    p.write_bytes(os.urandom(50_000))
    with pytest.raises(VideoError, match="cannot decode video"):
        open_source(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        open_source(p)


def test_zero_frame_file(tmp_path):
    with pytest.raises(VideoError, match="no frames"):
        open_source(write_mjpg_avi(tmp_path / "zero.avi", 0))


def test_unsupported_codec(tmp_path):
    good = write_mjpg_avi(tmp_path / "good.avi", 5)
    with open_source(good) as s:
        assert s.info.frame_count == 5
    bad = tmp_path / "unknown_codec.avi"
    bad.write_bytes(good.read_bytes().replace(b"MJPG", b"ZZ9Z"))  # a FourCC no decoder knows
    with pytest.raises(VideoError, match="unsupported codec"):
        open_source(bad)


def _truncated(tmp_path, fall04):
    """Fall04's first half of bytes as ``truncated.mp4``: its header announces more frames than it holds."""
    data = fall04.read_bytes()
    p = tmp_path / "truncated.mp4"
    p.write_bytes(data[: len(data) // 2])
    return p


def test_truncated_file(tmp_path, fall04):
    p = _truncated(tmp_path, fall04)
    with open_source(p) as s:
        announced = s.info.frame_count
        n = sum(1 for _ in s.frames())
        assert 0 < n < announced  # decoding ends early, without an exception
        assert s.info.frame_count == n
        with pytest.raises(VideoError, match="out of range|truncated"):
            s.read(announced - 1)


def test_truncated_before_index(tmp_path, fall04):
    p = tmp_path / "head.mp4"
    p.write_bytes(fall04.read_bytes()[-20_000:])  # tail only: no header
    with pytest.raises(VideoError):
        open_source(p)


def test_absent_webcam():
    with pytest.raises(VideoError, match="no webcam at index 7"):
        open_source(7)


def test_unreachable_stream():
    # nothing listens on this loopback port: refused at once
    with pytest.raises(VideoError, match="cannot connect to stream"):
        open_source("rtsp://127.0.0.1:9/none")


def test_copy_keeps_working(tmp_path, fall04):
    p = tmp_path / "copy.mp4"
    shutil.copy(fall04, p)
    with open_source(p) as s:
        assert s.read(5).index == 5



def test_http_mjpeg_camera_stream(shared_dir):
    """An IP-camera style HTTP MJPEG stream (multipart/x-mixed-replace) served on 127.0.0.1 opens as a
    live source and delivers the served frames in order."""
    import http.server
    import threading

    clip = shared_dir / "data" / "videos" / "fight" / "fi006.mp4"
    ref = _sequential(clip, limit=12)
    jpegs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes() for f in ref]

    class Camera(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            try:
                for j in jpegs:
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(j))
                    self.wfile.write(j + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with open_source(f"http://127.0.0.1:{srv.server_address[1]}/video.mjpg") as s:
            assert s.info.kind == "stream" and not s.info.seekable and s.info.frame_count is None
            assert (s.info.width, s.info.height) == (ref[0].shape[1], ref[0].shape[0])
            got = list(s.frames(0, 8))
            assert [f.index for f in got] == list(range(8))
            for f, j in zip(got, jpegs):
                expected = cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)
                assert np.abs(f.image.astype(int) - expected).mean() < 2
            with pytest.raises(VideoError, match="cannot seek"):
                s.read(3)
    finally:
        srv.shutdown()
        srv.server_close()


def test_seek_past_decodable_end_of_truncated_file(tmp_path, fall04):
    """Seeking beyond what a truncated file can decode raises; it never returns another frame."""
    p = _truncated(tmp_path, fall04)
    ref = _sequential(p)
    with open_source(p) as s:
        announced = s.info.frame_count
        assert len(ref) < announced
        with pytest.raises(VideoError, match="cannot be decoded"):
            s.read(announced - 1)
        # the source still works afterwards, frame-exactly
        assert np.array_equal(s.read(len(ref) - 1).image, ref[-1])
        assert np.array_equal(s.read(3).image, ref[3])


def _wait_prefetched(src, index, timeout_s=30.0):
    import time

    end = time.monotonic() + timeout_s
    while src.prefetched != index:
        assert time.monotonic() < end, f"frame {index} was not decoded ahead in time"
        time.sleep(0.01)


def test_prefetched_frames_are_the_decoded_ones_and_playback_goes_on_from_them(fall04):
    """A frame decoded ahead (on the prefetch thread, by a second decoder) is the frame sequential decoding gives;
    reading it trades the decoders, so the next frames come on without a seek; a hint can be replaced, and closing
    stops the thread."""
    ref = _sequential(fall04)
    with open_source(fall04) as src:
        src.read(10)
        src.prefetch(200)  # far ahead: the main decoder would seek or decode 190 frames
        _wait_prefetched(src, 200)
        fr = src.read(200)
        assert fr.index == 200 and np.array_equal(fr.image, ref[200])
        assert src.prefetched is None  # traded: the ready frame is now the shown one
        for i in (201, 202, 203):
            assert np.array_equal(src.read(i).image, ref[i])
        src.prefetch(5)  # backwards, and a hint replaced before it is read: the last one counts
        src.prefetch(12)
        _wait_prefetched(src, 12)
        assert np.array_equal(src.read(11).image, ref[11])  # not the prefetched one: the main decoder reads it
        assert np.array_equal(src.read(12).image, ref[12])
        for i in (250, 100, 280):  # read at once: while the thread may still be decoding it (then read waits for it)
            src.prefetch(i)
            assert np.array_equal(src.read(i).image, ref[i])
            assert np.array_equal(src.read(i + 1).image, ref[i + 1])
        src.prefetch(len(ref) + 50)  # out of range: ignored, never raises
        src.prefetch(-1)
        thread = src._pf_thread  # noqa: SLF001 - the test checks that close() stops it
        assert thread is not None and thread.is_alive()
    assert not thread.is_alive()


def test_a_frame_that_cannot_be_decoded_ahead_is_reported_by_read(tmp_path, fall04):
    """A truncated file: the frame past its decodable end is not made ready ahead; read() reports it as before."""
    p = _truncated(tmp_path, fall04)
    ref = _sequential(p)
    with open_source(p) as s:
        announced = s.info.frame_count
        s.prefetch(announced - 1)  # past the decodable end
        import time

        end = time.monotonic() + 30
        while s.prefetching:  # until the thread has tried
            assert time.monotonic() < end
            time.sleep(0.01)
        assert s.prefetched is None and s._pf_thread.is_alive()  # noqa: SLF001 - tried, failed, still serving
        with pytest.raises(VideoError, match="cannot be decoded|out of range"):
            s.read(announced - 1)
        assert np.array_equal(s.read(len(ref) - 1).image, ref[-1])


def _finish(state, timeout_s=30.0):
    """Call ``state.finish_seek()`` as the window's event loop does, until the pending seek is done."""
    import time

    end = time.monotonic() + timeout_s
    while not state.finish_seek():
        assert time.monotonic() < end, "the pending seek never finished"
        time.sleep(0.002)


def test_a_seek_that_does_not_wait_moves_the_index_at_once_and_shows_the_decoded_frame_after(fall04):
    """``AppState.seek(wait=False)``: a frame that takes decoding is pending (its index at once, the previous
    picture meanwhile); finish_seek shows the exact decoded frame; a newer seek replaces one still pending; a frame
    the decoder has at once (the next one, the one shown) is shown without waiting."""
    from core.state import AppState

    ref = _sequential(fall04)
    state = AppState()
    state.open_video(fall04)
    try:
        seen = []
        state.events.frame.connect(lambda new, _old: new is not None and seen.append((new.index, new.pending)))
        assert state.seek(1, wait=False) and not state.seeking  # the next frame: decoded at once
        assert np.array_equal(state.frame.image, ref[1])
        assert state.seek(200, wait=False) and state.seeking  # far ahead: pending
        assert state.frame_index == 200 and np.array_equal(state.frame.image, ref[1])
        _finish(state)
        assert state.frame_index == 200 and not state.frame.pending and np.array_equal(state.frame.image, ref[200])
        assert seen[-2:] == [(200, True), (200, False)]
        # scrubbing: seeks while one is pending; the last one counts and the picture is always a decoded frame's
        for i in (120, 60, 90):
            state.seek(i, wait=False)
            assert state.frame_index == i and np.array_equal(state.frame.image, ref[200])
        _finish(state)
        assert state.frame_index == 90 and np.array_equal(state.frame.image, ref[90])
        state.seek(91)  # playback goes on from there
        assert np.array_equal(state.frame.image, ref[91])
        state.seek(30, wait=False)
        assert state.seeking
        state.seek(30)  # a seek that waits finishes a pending one of the same frame
        assert not state.seeking and np.array_equal(state.frame.image, ref[30])
    finally:
        state.close_video()
    assert not state.seeking and state.finish_seek()


def test_a_pending_seek_that_cannot_be_decoded_is_reported_and_the_shown_frame_comes_back(tmp_path, fall04):
    """A truncated file: a seek past its decodable end that did not wait raises in finish_seek, and the frame shown
    before it (index and picture) is the one shown again."""
    from core.state import AppState

    p = _truncated(tmp_path, fall04)
    ref = _sequential(p)
    state = AppState()
    state.open_video(p)
    try:
        announced = state.frame_count
        state.seek(3)
        state.seek(announced - 1, wait=False)
        assert state.seeking and state.frame_index == announced - 1
        with pytest.raises(VideoError, match="cannot be decoded|out of range"):
            _finish(state)
        assert not state.seeking and state.frame_index == 3 and np.array_equal(state.frame.image, ref[3])
    finally:
        state.close_video()


def test_a_video_opened_ahead_is_the_one_shown_and_its_errors_come_at_the_open(tmp_path, fall04, street_clip):
    """``AppState.open_ahead``: the next video opens in the background and ``open_video`` of that path takes it
    (the same frames as opening it there); another open or a close drops it; a file that cannot be opened is
    reported by ``open_video`` with the message opening it there gives, and the video shown stays."""
    from core.state import AppState

    ref = _sequential(fall04, limit=3)
    state = AppState()
    state.open_video(street_clip)
    try:
        state.open_ahead(fall04)
        assert state.opening_ahead == os.fspath(fall04)
        state.open_ahead(fall04)  # asked again: the same opening goes on
        state.open_video(fall04)
        assert state.opening_ahead is None and state.video_path == os.fspath(fall04)
        assert np.array_equal(state.frame.image, ref[0])
        state.seek(2)
        assert np.array_equal(state.frame.image, ref[2])

        # what was opened ahead is what is shown: a copy deleted once opened ahead still opens
        import time

        copy = tmp_path / "copy.mp4"
        shutil.copy(fall04, copy)
        state.open_ahead(copy)
        end = time.monotonic() + 30
        while not state.opened_ahead:
            assert time.monotonic() < end, "the opening ahead never finished"
            time.sleep(0.005)
        copy.unlink()
        state.open_video(copy)
        assert np.array_equal(state.frame.image, ref[0])
        with pytest.raises(VideoError):
            open_source(copy)

        state.open_ahead(street_clip)
        state.open_video(fall04)  # another video than the one opened ahead: dropped
        assert state.opening_ahead is None
        state.open_ahead(street_clip)
        state.close_video()
        assert state.opening_ahead is None

        state.open_video(fall04)
        bad = tmp_path / "corrupt.mp4"
        bad.write_bytes(os.urandom(50_000))
        with pytest.raises(VideoError) as direct:
            open_source(bad)
        state.open_ahead(bad)
        with pytest.raises(VideoError) as ahead:
            state.open_video(bad)
        assert str(ahead.value) == str(direct.value)
        assert state.video_path == os.fspath(fall04) and np.array_equal(state.frame.image, ref[0])
    finally:
        state.close_video()
