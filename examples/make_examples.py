"""How the demo media in examples/ were made (run once by a developer; the results are committed).

* ``demo_face.png``: the astronaut portrait (Eileen Collins, NASA, public domain) that ships inside the
  scikit-image wheel as ``skimage/data/astronaut.png``, cropped to head and shoulders.
* ``demo_speech.wav``: English speech with pauses rendered by espeak-ng (Debian package ``espeak-ng``).

Usage: ``python examples/make_examples.py path/to/astronaut.png`` (needs espeak-ng on PATH).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2

HERE = Path(__file__).parent
TEXT = ("Hello. [[_:]] This is a short message from the health education office. [[_:]] "
        "Please wash your hands often, [[_:]] and stay at home when you feel unwell. [[_:]] Thank you.")


def main(astronaut: str) -> None:
    img = cv2.imread(astronaut)
    face = img[0:300, 50:350]  # head and shoulders, 300x300
    cv2.imwrite(str(HERE / "demo_face.png"), cv2.resize(face, (512, 512), interpolation=cv2.INTER_CUBIC))
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-g", "12", "-w",
                    str(HERE / "demo_speech.wav"), TEXT.replace("[[_:]] ", "")], check=True)


if __name__ == "__main__":
    main(sys.argv[1])
