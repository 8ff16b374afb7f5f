from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.capture.errors import CameraError
from kiosk.capture.render import write_qr_png
from kiosk.capture.sources import (
    DemoSource,
    FolderSource,
    WebcamSource,
    default_source,
    open_source,
)
from kiosk.capture.stages import FrameViews, first_pass
from kiosk.capture.types import Frame, FrameSource
from kiosk.config import CaptureSettings

SETTINGS = CaptureSettings()


def _read_all(source: FrameSource, limit: int = 1000) -> list[Frame]:
    frames = []
    for _ in range(limit):
        frame = source.read()
        if frame is None:
            if source.ended:
                break
            continue
        frames.append(frame)
    return frames


def _texts(frames: list[Frame]) -> list[str]:
    texts = []
    for frame in frames:
        codes = first_pass(FrameViews(frame.image))
        texts.append(codes[0].text if codes else "")
    return texts


def test_folder_plays_images_sorted_by_name(tmp_path: Path) -> None:
    for name in ["b.png", "a.jpg", "c.webp"]:
        write_qr_png(f"code {name}", tmp_path / name, code_px=200)
    source = FolderSource(tmp_path, SETTINGS, hold_frames=2, paced=False)
    frames = _read_all(source)
    assert _texts(frames) == [
        "code a.jpg", "code a.jpg", "code b.png", "code b.png",
        "code c.webp", "code c.webp",
    ]  # fmt: skip
    assert [frame.index for frame in frames] == list(range(6))
    assert source.ended
    assert source.read() is None


@pytest.mark.expected_log("kiosk.capture.sources")
def test_folder_skips_other_files(tmp_path: Path) -> None:
    write_qr_png("only image", tmp_path / "1.png", code_px=200)
    (tmp_path / "notes.txt").write_text("not an image", encoding="utf-8")
    (tmp_path / "2.png").write_bytes(b"not really a PNG")
    (tmp_path / "sub").mkdir()
    source = FolderSource(tmp_path, SETTINGS, hold_frames=1, paced=False)
    assert _texts(_read_all(source)) == ["only image"]


def test_folder_frames_carry_media_time(tmp_path: Path) -> None:
    write_qr_png("timed", tmp_path / "1.png", code_px=200)
    settings = CaptureSettings(fps=10)
    frames = _read_all(FolderSource(tmp_path, settings, hold_frames=3, paced=False))
    gaps = np.diff([frame.timestamp for frame in frames])
    assert gaps == pytest.approx([0.1, 0.1])


def test_empty_folder_rejected(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x", encoding="utf-8")
    with pytest.raises(CameraError, match="contains no images"):
        open_source(str(tmp_path), SETTINGS)


def test_open_source_folder_and_demo(tmp_path: Path) -> None:
    write_qr_png("x", tmp_path / "1.png")
    assert isinstance(open_source(str(tmp_path), SETTINGS), FolderSource)
    assert isinstance(open_source("demo", SETTINGS), DemoSource)


@pytest.mark.parametrize("spec", ["webcam", "/no/such/folder", "1.5", "/dev/video99"])
def test_bad_camera_spec_lists_accepted(spec: str) -> None:
    with pytest.raises(CameraError) as raised:
        open_source(spec, SETTINGS)
    message = str(raised.value)
    assert spec in message
    for accepted in ["webcam index", "/dev/video0", "video file", "folder", "'demo'"]:
        assert accepted in message


def test_unsupported_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(CameraError, match="not a video file or folder"):
        open_source(str(path), SETTINGS)


def test_video_file_played_once(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    if not writer.isOpened():
        pytest.skip("OpenCV in this environment cannot write MJPG AVI files")
    for value in range(5):
        writer.write(np.full((240, 320, 3), value * 40, dtype=np.uint8))
    writer.release()
    source = open_source(str(path), SETTINGS, paced=False)
    frames = _read_all(source)
    assert len(frames) == 5
    assert source.ended


def test_demo_shows_badges_then_gap() -> None:
    source = DemoSource(CaptureSettings(fps=2), paced=False)
    frames = [source.read() for _ in range(16)]
    texts = _texts([frame for frame in frames if frame is not None])
    payloads = source.payloads
    assert texts[:6] == [payloads[0]] * 6
    assert texts[6:8] == ["", ""]
    assert texts[8:14] == [payloads[1]] * 6
    for payload in payloads:
        assert "@example." in payload


def test_default_source_describes_itself() -> None:
    source = default_source(SETTINGS)
    try:
        assert source.description.startswith(("Webcam 0", "Demo badges"))
    finally:
        source.close()


class FakeCapture:
    """A cv2.VideoCapture stand-in for an absent webcam."""

    def __init__(self, frames: int, opened: bool = True) -> None:
        self.frames_left = frames
        self.opened = opened
        self.properties: dict[int, float] = {}
        self.released = False

    def isOpened(self) -> bool:  # OpenCV's name
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.frames_left <= 0:
            return False, None
        self.frames_left -= 1
        return True, np.zeros((720, 1280, 3), dtype=np.uint8)

    def set(self, prop_id: int, value: float) -> bool:
        self.properties[prop_id] = value
        return True

    def release(self) -> None:
        self.released = True


def test_webcam_applies_settings_and_raises_on_failure() -> None:
    captures = [FakeCapture(frames=2)]
    source = WebcamSource(0, SETTINGS, capture_factory=lambda device: captures[-1])
    assert captures[0].properties[cv2.CAP_PROP_FRAME_WIDTH] == 1280
    assert captures[0].properties[cv2.CAP_PROP_FPS] == 30
    assert source.read() is not None
    assert source.read() is not None
    with pytest.raises(CameraError, match="stopped delivering frames"):
        source.read()
    assert captures[0].released


def test_webcam_that_cannot_open_raises() -> None:
    with pytest.raises(CameraError, match="cannot be opened"):
        WebcamSource(3, SETTINGS, capture_factory=lambda device: FakeCapture(0, False))


@pytest.mark.expected_log("kiosk.capture.sources")
def test_folder_skips_huge_image_keeps_rest(tmp_path: Path) -> None:
    from .test_imaging import write_png_header_only

    write_qr_png("before", tmp_path / "1.png", code_px=200)
    write_png_header_only(tmp_path / "2.png", 60_000, 60_000)
    write_qr_png("after", tmp_path / "3.png", code_px=200)
    source = FolderSource(tmp_path, SETTINGS, hold_frames=1, paced=False)
    assert _texts(_read_all(source)) == ["before", "after"]


def test_folder_reads_non_utf8_name(tmp_path: Path) -> None:
    write_qr_png("plain name", tmp_path / "1.png", code_px=200)
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/2\xff.png"))
    write_qr_png("odd name", tmp_path / "tmp.png", code_px=200).rename(odd)
    source = FolderSource(tmp_path, SETTINGS, hold_frames=1, paced=False)
    assert _texts(_read_all(source)) == ["plain name", "odd name"]


def test_folder_transparent_png_read(tmp_path: Path) -> None:
    from kiosk.capture.render import qr_image

    grey = qr_image("see-through", 300)
    rgba = np.zeros((*grey.shape, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(grey == 0, 255, 0)
    cv2.imwrite(str(tmp_path / "1.png"), rgba)
    source = FolderSource(tmp_path, SETTINGS, hold_frames=1, paced=False)
    assert _texts(_read_all(source)) == ["see-through"]


@pytest.mark.parametrize("spec", ["", "   "])
def test_empty_camera_spec_rejected(spec: str) -> None:
    with pytest.raises(CameraError) as raised:
        open_source(spec, SETTINGS)
    message = str(raised.value)
    assert "empty" in message
    assert "webcam index" in message


def test_unopened_webcam_lists_accepted_without_opencv_warnings() -> None:
    if Path("/dev/video7").exists():
        pytest.skip("this machine has a /dev/video7, so webcam 7 may open")
    # A fresh interpreter, because OpenCV reads its log level when cv2 is imported.
    script = (
        "import sys\n"
        "from kiosk.capture.errors import CameraError\n"
        "from kiosk.capture.sources import open_source\n"
        "from kiosk.config import CaptureSettings\n"
        "try:\n"
        "    open_source('7', CaptureSettings())\n"
        "except CameraError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    sys.exit('webcam 7 opened')\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "OPENCV_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    assert "Webcam 7 cannot be opened" in result.stdout
    assert "webcam index" in result.stdout
    assert "'demo'" in result.stdout
    assert "WARN" not in result.stderr


def test_video_non_utf8_name_rejected(tmp_path: Path) -> None:
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/clip\xff.mp4"))
    odd.write_bytes(b"not really a video")
    with pytest.raises(CameraError) as raised:
        open_source(str(odd), SETTINGS)
    assert "not valid UTF-8" in str(raised.value)
