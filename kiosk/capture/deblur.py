"""Wiener deconvolution for defocus and motion blur, used by the decoder's fallbacks."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from kiosk.capture.types import Image

FloatImage = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Kernel:
    """A blur kernel to undo: Gaussian defocus or linear motion.

    Attributes:
        name: short label used in the decoder name, e.g. ``"gauss2.5"``.
        kind: ``"gauss"`` or ``"motion"``.
        size: Gaussian sigma, or motion length, in pixels.
        angle: motion direction in degrees (0 is horizontal).
    """

    name: str
    kind: str
    size: float
    angle: float = 0.0


def gaussian(sigma: float) -> Kernel:
    """Return a Gaussian defocus kernel of ``sigma`` pixels."""
    return Kernel(f"gauss{sigma:g}", "gauss", sigma)


def motion(length: float, angle: float) -> Kernel:
    """Return a linear motion kernel ``length`` pixels long at ``angle`` degrees."""
    return Kernel(f"motion{length:g}@{angle:g}", "motion", length, angle)


def kernel_image(kernel: Kernel) -> FloatImage:
    """Return the point spread function of ``kernel``, normalised to sum 1."""
    if kernel.kind == "gauss":
        radius = int(np.ceil(3 * kernel.size))
        line = cv2.getGaussianKernel(2 * radius + 1, kernel.size, cv2.CV_32F)
        psf = np.asarray(line @ line.T, dtype=np.float32)
    else:
        length = max(1, round(kernel.size))
        side = length + (1 - length % 2)
        psf = np.zeros((side, side), dtype=np.float32)
        psf[side // 2, (side - length) // 2 : (side + length) // 2] = 1.0
        centre = ((side - 1) / 2.0, (side - 1) / 2.0)
        rotation = cv2.getRotationMatrix2D(centre, kernel.angle, 1.0)
        psf = np.asarray(
            cv2.warpAffine(psf, rotation, (side, side), flags=cv2.INTER_LINEAR),
            dtype=np.float32,
        )
    total = float(psf.sum())
    return (psf / total).astype(np.float32) if total > 0 else psf


def wiener(grey: Image, kernel: Kernel, *, noise_to_signal: float = 0.01) -> Image:
    """Deconvolve ``grey`` with a Wiener filter for ``kernel``.

    The image is padded by reflection to an FFT-friendly size to limit ringing at the
    borders.

    Returns:
        The restored grey image, same size as ``grey``.
    """
    height, width = grey.shape[:2]
    psf = kernel_image(kernel)
    pad = psf.shape[0]
    padded_h = cv2.getOptimalDFTSize(height + 2 * pad)
    padded_w = cv2.getOptimalDFTSize(width + 2 * pad)
    padded = cv2.copyMakeBorder(
        grey,
        pad,
        padded_h - height - pad,
        pad,
        padded_w - width - pad,
        cv2.BORDER_REFLECT,
    ).astype(np.float32)

    psf_full = np.zeros((padded_h, padded_w), dtype=np.float32)
    psf_full[: psf.shape[0], : psf.shape[1]] = psf
    psf_full = np.roll(psf_full, (-(psf.shape[0] // 2), -(psf.shape[1] // 2)), (0, 1))

    image_f = cv2.dft(padded, flags=cv2.DFT_COMPLEX_OUTPUT)
    psf_f = cv2.dft(psf_full, flags=cv2.DFT_COMPLEX_OUTPUT)
    power = psf_f[..., 0] ** 2 + psf_f[..., 1] ** 2 + noise_to_signal
    filt = np.empty_like(psf_f)
    filt[..., 0] = psf_f[..., 0] / power
    filt[..., 1] = -psf_f[..., 1] / power
    restored_f = cv2.mulSpectrums(image_f, filt, 0)
    restored = cv2.idft(restored_f, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)
    crop = restored[pad : pad + height, pad : pad + width]
    return np.clip(crop, 0, 255).astype(np.uint8)


STILL_FRAME_KERNELS: tuple[Kernel, ...] = (
    gaussian(2.0),
    gaussian(3.5),
    *(motion(length, angle) for length in (9, 15) for angle in range(0, 180, 30)),
    gaussian(5.0),
    *(motion(21, angle) for angle in range(0, 180, 30)),
    *(motion(12, angle) for angle in range(15, 180, 30)),
)
"""Kernels tried on a whole still frame when no region looks like a code."""

STILL_KERNELS: tuple[Kernel, ...] = (
    *(gaussian(sigma / 2) for sigma in range(3, 11)),
    *(
        motion(length, angle)
        for length in (7, 11, 15, 5, 9, 13, 17, 21)
        for angle in range(0, 180, 15)
    ),
)
"""Kernels tried on code-sized regions of a still: cheap there, so a dense search."""

LIVE_KERNELS: tuple[Kernel, ...] = (
    gaussian(2.5),
    gaussian(4.0),
    motion(13, 0),
    motion(13, 90),
)
"""Kernels tried on live frames when a code is seen but not read."""
