"""rmnet_sdk.training: train R-MNet (Keras 3) on your own images.

Installed as ``rmnet_sdk.training`` (the repository folder is ``training/``) so it does not squat a
generic top-level name. Importing this package is cheap; Keras/TensorFlow load when a model,
loss or trainer is first built.
"""

from .config import PRESETS, TrainConfig, load_config, preset

__all__ = ["PRESETS", "TrainConfig", "load_config", "preset"]
