"""The generator's custom Keras layers, for the training code that builds generators.

They are defined in :mod:`rmnet_sdk.keras_layers`, next to the runtime code that loads saved
generators (a ``.keras`` file must load without the training package); this module re-exports
them for the model builders, which belong to training.
"""

from __future__ import annotations

from rmnet_sdk.keras_layers import PyramidPrefill, ResidualPrediction

__all__ = ["PyramidPrefill", "ResidualPrediction"]
