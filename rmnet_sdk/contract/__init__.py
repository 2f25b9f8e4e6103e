"""The artifact contract: what the toolchain writes and the runtimes (Python and C++) read.

Everything that the making and the running of a model must agree on lives here and nowhere else:
the model IO contract (:mod:`.io`), precision names (:mod:`.precision`), model metadata
(:mod:`.metadata`), optimisation profiles and the one rule for picking them (:mod:`.profiles`),
the engine sidecar's schema and check (:mod:`.sidecar`, ``engine_sidecar.schema.json``) and the
engine cache key (:mod:`.cache_key`). It imports nothing but NumPy, the standard library and
:mod:`rmnet_sdk.errors`, so the runtime, ``export`` and ``training`` can all import it.
"""
