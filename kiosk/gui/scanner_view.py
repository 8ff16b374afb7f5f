"""The live camera preview with detected codes outlined, and the scan feedback."""

from __future__ import annotations

import logging
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QTransform,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from kiosk.gui.workers import PreviewFrame

log = logging.getLogger(__name__)

FLASH_START_ALPHA = 170
FLASH_STEP_MS = 30
FLASH_ALPHA_STEP = 17
OUTLINE_COLOR = QColor("#2ecc71")
BACKGROUND_COLOR = QColor("#111418")


class ScannerView(QWidget):
    """Paints the newest camera frame, scaled to fit, with each code's outline.

    Args:
        mirror: flip the picture left to right, so people in front of the camera see
            themselves as in a mirror. Outlines are flipped with it.
    """

    def __init__(self, mirror: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scannerView")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        # Focusable, so keys pressed on the scanner page (Escape) reach the window.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.mirror = mirror
        self.placeholder = "Starting the camera..."
        self._frame: PreviewFrame | None = None
        self._flash_alpha = 0
        self._flash_timer = QTimer(self)
        self._flash_timer.setInterval(FLASH_STEP_MS)
        self._flash_timer.timeout.connect(self._fade_flash)

    @property
    def frame(self) -> PreviewFrame | None:
        """The frame painted now, or ``None`` before the first one."""
        return self._frame

    @property
    def flashing(self) -> bool:
        """Is the scan flash still fading?"""
        return self._flash_alpha > 0

    def show_frame(self, frame: PreviewFrame) -> None:
        """Replace the painted frame and repaint."""
        self._frame = frame
        self.update()

    def flash(self) -> None:
        """Flash the preview green to confirm a scan."""
        self._flash_alpha = FLASH_START_ALPHA
        self._flash_timer.start()
        self.update()

    def stop(self) -> None:
        """Stop the flash timer (the window calls this when it shuts down)."""
        self._flash_timer.stop()
        self._flash_alpha = 0

    def frame_transform(self) -> QTransform:
        """Return the mapping from frame pixels to widget pixels (fit, centred)."""
        if self._frame is None:
            return QTransform()
        image = self._frame.image
        scale = min(self.width() / image.width(), self.height() / image.height())
        left = (self.width() - image.width() * scale) / 2
        top = (self.height() - image.height() * scale) / 2
        if self.mirror:
            return QTransform(-scale, 0, 0, scale, left + image.width() * scale, top)
        return QTransform(scale, 0, 0, scale, left, top)

    def paintEvent(self, event: QPaintEvent) -> None:
        del event
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), BACKGROUND_COLOR)
            if self._frame is None:
                self._paint_placeholder(painter)
            else:
                self._paint_frame(painter, self._frame)
            if self._flash_alpha > 0:
                self._paint_flash(painter)
        finally:
            painter.end()

    def _paint_frame(self, painter: QPainter, frame: PreviewFrame) -> None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(self.frame_transform())
        target = QRectF(0, 0, frame.image.width(), frame.image.height())
        painter.drawImage(target, frame.image)
        pen = QPen(OUTLINE_COLOR, 5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        for corners in frame.outlines:
            painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in corners]))
        painter.resetTransform()

    def _paint_placeholder(self, painter: QPainter) -> None:
        painter.setPen(QColor("#d0d7de"))
        font = QFont(self.font())
        font.setPointSize(max(font.pointSize(), 10) + 8)
        painter.setFont(font)
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)

    def _paint_flash(self, painter: QPainter) -> None:
        color = QColor(OUTLINE_COLOR)
        color.setAlpha(self._flash_alpha // 2)
        painter.fillRect(self.rect(), color)
        border = QColor(OUTLINE_COLOR)
        border.setAlpha(self._flash_alpha)
        painter.setPen(QPen(border, 24))
        painter.drawRect(self.rect().adjusted(12, 12, -12, -12))

    def _fade_flash(self) -> None:
        self._flash_alpha = max(0, self._flash_alpha - FLASH_ALPHA_STEP)
        if self._flash_alpha == 0:
            self._flash_timer.stop()
        self.update()


class ScanSound(QObject):
    """Plays the short scan beep through QtMultimedia when an audio output exists.

    Without QtMultimedia or an audio device the kiosk stays silent; that is logged
    once at DEBUG level.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._effect = self._load_effect()

    @property
    def available(self) -> bool:
        """Can the beep be played on this machine?"""
        return self._effect is not None

    def play(self) -> None:
        """Play the beep, or do nothing when no audio is available."""
        if self._effect is not None:
            self._effect.play()

    def _load_effect(self) -> Any:
        try:
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError as exc:
            log.debug("Scan beep disabled: QtMultimedia is not available (%s)", exc)
            return None
        if not QMediaDevices.audioOutputs():
            log.debug("Scan beep disabled: no audio output device")
            return None
        path = _beep_path()
        if path is None:
            log.debug("Scan beep disabled: the sound file is not on disk")
            return None
        effect = QSoundEffect(self)
        effect.setSource(QUrl.fromLocalFile(str(path)))
        effect.setVolume(0.6)
        return effect


def _beep_path() -> Path | None:
    resource = importlib_resources.files("resources").joinpath("sounds/beep.wav")
    path = Path(str(resource))
    return path if path.is_file() else None
