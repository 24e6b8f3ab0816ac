"""Process-wide set-up, done once by each entry point (app, CLI, worker) before any work starts,
never from a worker thread."""
from __future__ import annotations

import logging
import os
import re
import sys
import threading
import warnings

log = logging.getLogger("lipsync.native")

# MediaPipe / TensorFlow Lite start-up notices, printed by C++ straight to file descriptor 2 for every
# face analyser; they go to the log at debug level instead of cluttering the terminal
NATIVE_NOISE = re.compile(r"XNNPACK delegate|absl::InitializeLog|inference_feedback_manager|"
                          r"Feedback manager requires|gl_context|landmark_projection_calculator")
_done = False


def init_process(route_native_stderr: bool = True) -> None:
    """Environment for the native libraries, warnings filter, and (optionally) native stderr routed
    through logging. Safe to call more than once; only the first call acts."""
    global _done
    if _done:
        return
    _done = True
    os.environ.setdefault("GLOG_minloglevel", "2")          # quiet MediaPipe's glog output
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")  # nothing leaves the building
    # mediapipe 0.10.14 calls a protobuf API that newer protobuf marks deprecated on every frame
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
    if route_native_stderr and not os.environ.get("LIPSYNC_DEBUG_NATIVE"):
        _route_native_stderr()


def _route_native_stderr() -> None:
    """Point fd 2 at a pipe read by a thread: known native notices go to the log, anything else
    still reaches the real stderr. Python's own ``sys.stderr`` keeps writing to the terminal."""
    sys.stderr.flush()
    real = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = os.fdopen(os.dup(real), "w", buffering=1, encoding="utf-8", errors="replace")

    def pump() -> None:
        with os.fdopen(read_end, "rb") as pipe, os.fdopen(real, "wb", buffering=0) as out:
            for line in pipe:
                text = line.decode("utf-8", "replace").rstrip()
                if NATIVE_NOISE.search(text):
                    log.debug("native: %s", text)
                else:
                    out.write(line)

    threading.Thread(target=pump, name="native-stderr", daemon=True).start()
