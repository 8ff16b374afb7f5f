"""The QR decoder chain: zxing-cpp on every frame, then fallbacks within a time budget.

Live frames get the first pass (zxing-cpp, QR only, plain text mode, dark codes only)
and, when it reads nothing, as many cheap fallbacks as fit in the frame's budget,
resuming on the next frame where this one stopped. When a code is seen but not read,
the next frames run the fuller chain, deblurring included, with a larger budget, and
the capture loop drops the frames that arrive meanwhile. Stills run every stage, up to
about 2 s an image.

A chain keeps per-stage cost estimates and live-mode state, so use one chain per thread.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from kiosk.capture import deblur, stages, stages_opencv
from kiosk.capture.stages import FrameViews, Stage
from kiosk.capture.types import DecodedCode, Image

LIVE_BUDGET_S = 0.022
ESCALATED_BUDGET_S = 0.25
STILL_BUDGET_S = 2.0
ESCALATE_FRAMES = 15
MIN_SIDE_PX = 21
"""Smaller images are skipped: a QR code has at least 21 modules a side."""

_COST_SMOOTHING = 0.3


@dataclass
class ChainTiming:
    """How long the last decode took, split into first pass and fallbacks (seconds)."""

    first_pass_s: float = 0.0
    fallback_s: float = 0.0
    stages_run: list[str] = field(default_factory=list)


def _stage(name: str, function: stages.StageFunction, live: bool = True) -> Stage:
    return Stage(name, function, live)


LIVE_FALLBACKS: tuple[Stage, ...] = (
    _stage("zxing-inverted", stages.zxing_inverted),
    _stage("zxing-downscale", stages.zxing_downscale),
    _stage("zxing-upscale-regions", stages.zxing_upscale_regions),
    _stage("zxing-histogram", stages.zxing_histogram),
    _stage("zxing-clahe", stages.zxing_clahe),
    _stage("zxing-sharpen", stages.zxing_sharpen),
    _stage("zxing-mirrored", stages.zxing_mirrored),
    _stage("pyzbar", stages.pyzbar_binary),
)
"""Cheap fallbacks for live frames, tried in turn across frames.

Each chain adds its own :class:`stages.DeblurSweep`, which keeps state between frames.
"""

FULL_FALLBACKS: tuple[Stage, ...] = (
    *LIVE_FALLBACKS,
    _stage("opencv-aruco", stages_opencv.opencv_aruco),
    _stage("zxing-upscale-regions-2", stages.zxing_upscale_regions),
    _stage(
        "zxing-deblur-live",
        functools.partial(stages.zxing_deblur, kernels=deblur.LIVE_KERNELS),
    ),
    _stage("zxing-upscale-frame", stages.zxing_upscale_frame),
)
"""Fallbacks for frames right after a code was seen but not read."""

STILL_FALLBACKS: tuple[Stage, ...] = (
    *FULL_FALLBACKS[:-2],
    _stage("opencv-curved", stages_opencv.opencv_curved),
    _stage("zxing-upscale-frame", stages.zxing_upscale_frame),
    _stage(
        "zxing-deblur",
        functools.partial(
            stages.zxing_deblur,
            kernels=deblur.STILL_KERNELS,
            frame_kernels=deblur.STILL_FRAME_KERNELS,
        ),
    ),
)
"""Every fallback, for stills."""


class DecoderChain:
    """zxing-cpp first, then time-budgeted fallbacks; see the module docstring.

    Args:
        live_budget_s: time a live frame may take, first pass included.
        escalated_budget_s: time a live frame may take after a code was seen but not
            read.
        still_budget_s: time a still may take; a stage already running is finished.
        escalate_frames: how many frames run the fuller chain after a sighting.
    """

    def __init__(
        self,
        *,
        live_budget_s: float = LIVE_BUDGET_S,
        escalated_budget_s: float = ESCALATED_BUDGET_S,
        still_budget_s: float = STILL_BUDGET_S,
        escalate_frames: int = ESCALATE_FRAMES,
    ) -> None:
        self.live_budget_s = live_budget_s
        self.escalated_budget_s = escalated_budget_s
        self.still_budget_s = still_budget_s
        self.escalate_frames = escalate_frames
        self.last_timing = ChainTiming()
        self._costs: dict[str, float] = {}
        self._live_fallbacks = (
            *LIVE_FALLBACKS,
            Stage("zxing-deblur-sweep", stages.DeblurSweep(deblur.STILL_KERNELS)),
        )
        self._next_live = 0
        self._escalate_left = 0

    def decode_live(self, image: Image) -> list[DecodedCode]:
        """Decode a camera frame within the live budget."""
        if min(image.shape[:2]) < MIN_SIDE_PX:
            return []
        start = time.perf_counter()
        views = FrameViews(image)
        codes = stages.first_pass(views)
        first_done = time.perf_counter()
        self.last_timing = ChainTiming(first_pass_s=first_done - start)
        if codes:
            self._escalate_left = 0
            return _unique(codes)

        if views.seen:
            self._escalate_left = self.escalate_frames
        if self._escalate_left > 0:
            self._escalate_left -= 1
            codes = self._run(views, FULL_FALLBACKS, start, self.escalated_budget_s)
        else:
            codes = self._run_rotating(views, start)
            if views.seen:  # a cheap fallback located a code it could not read
                self._escalate_left = self.escalate_frames
        self.last_timing.fallback_s = time.perf_counter() - first_done
        if codes:
            self._escalate_left = 0
        return _unique(codes)

    def decode_still(self, image: Image) -> list[DecodedCode]:
        """Decode a still image with every stage, within the still budget."""
        if min(image.shape[:2]) < MIN_SIDE_PX:
            return []
        start = time.perf_counter()
        views = FrameViews(image)
        codes = stages.first_pass(views)
        first_done = time.perf_counter()
        self.last_timing = ChainTiming(first_pass_s=first_done - start)
        if not codes:
            codes = self._run(
                views, STILL_FALLBACKS, start, self.still_budget_s, predict=False
            )
        self.last_timing.fallback_s = time.perf_counter() - first_done
        return _unique(codes)

    def _run(
        self,
        views: FrameViews,
        order: Sequence[Stage],
        start: float,
        budget_s: float,
        *,
        predict: bool = True,
    ) -> list[DecodedCode]:
        views.deadline = start + budget_s
        for stage in order:
            if not self._fits(stage, start, budget_s, predict):
                continue
            codes = self._timed(stage, views)
            if codes:
                return codes
        return []

    def _run_rotating(self, views: FrameViews, start: float) -> list[DecodedCode]:
        count = len(self._live_fallbacks)
        for offset in range(count):
            index = (self._next_live + offset) % count
            stage = self._live_fallbacks[index]
            # The first stage of a frame always runs, so a stage costlier than the
            # whole budget still gets its turn.
            if offset > 0 and not self._fits(stage, start, self.live_budget_s, True):
                self._next_live = index
                return []
            codes = self._timed(stage, views)
            if codes:
                return codes
        return []

    def _fits(self, stage: Stage, start: float, budget_s: float, predict: bool) -> bool:
        elapsed = time.perf_counter() - start
        expected = self._costs.get(stage.name, 0.0) if predict else 0.0
        return elapsed + expected <= budget_s

    def _timed(self, stage: Stage, views: FrameViews) -> list[DecodedCode]:
        began = time.perf_counter()
        codes = stage.run(views)
        spent = time.perf_counter() - began
        previous = self._costs.get(stage.name, spent)
        self._costs[stage.name] = previous + _COST_SMOOTHING * (spent - previous)
        self.last_timing.stages_run.append(stage.name)
        return codes


def _unique(codes: list[DecodedCode]) -> list[DecodedCode]:
    seen: set[bytes] = set()
    unique = []
    for code in codes:
        if code.raw in seen:
            continue
        seen.add(code.raw)
        unique.append(code)
    return unique
