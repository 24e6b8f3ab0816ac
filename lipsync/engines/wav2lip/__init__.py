"""Wav2Lip engine (official checkpoints; research / non-commercial licence of the weights).

Listed in ``engines.registry.ENGINES``; ``engine.Wav2LipEngine`` is imported only when first used.
"""
