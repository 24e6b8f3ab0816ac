"""Wav2Lip engine (official checkpoints; research / non-commercial licence of the weights)."""
from ..registry import EngineSpec, register

LICENCE = ("Wav2Lip weights (trained on LRS2) are licensed for research / non-commercial use only. "
           "Check the licence before publishing videos made with them.")


def _factory(settings):
    from .engine import Wav2LipEngine

    return Wav2LipEngine(settings)


register(EngineSpec(
    name="wav2lip",
    label="Wav2Lip (neural, needs weights)",
    description="The Wav2Lip neural network. Needs its weights file in checkpoints/ "
                "(downloaded once, or copied there).",
    factory=_factory,
    licence=LICENCE,
))
