"""Camera sources, the QR decoder chain, de-duplication and the capture loop (no Qt).

Importing this package sets ``OPENCV_LOG_LEVEL`` to ``ERROR`` unless it is already set,
so OpenCV's own ``[ WARN ]`` lines (such as V4L2 messages for a webcam that does not
open) stay off stderr. OpenCV reads the variable when ``cv2`` is first imported, and
:mod:`kiosk.capture.sources` also sets the level for a ``cv2`` imported earlier.
"""

import os

os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
