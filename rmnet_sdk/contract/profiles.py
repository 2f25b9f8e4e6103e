"""Optimisation profiles and the one rule for cutting a batch into chunks that fit them.

A TensorRT engine runs a shape only inside one of its profiles' ``[min, max]`` ranges of
``(N, H, W)``. Engines built here, engines built by ``trtexec`` and described by
``rmnet-sidecar``, the Python TensorRT backend and the C++ runtime (``cpp/src/profiles.cpp``,
``planChunks``) all use :class:`Profile` and :func:`plan_batches`; the shared sidecar vectors in
``tests/data/sidecar_vectors/`` hold both languages to the same plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidInputError
from .io import check_spatial_size

Shape3 = tuple[int, int, int]  #: (N, H, W)


def _parse_nhw(text: str) -> Shape3:
    parts = text.strip().lower().split("x")
    try:
        n, h, w = (int(p) for p in parts)
    except ValueError as e:
        raise InvalidInputError(f"a profile shape is NxHxW, e.g. 1x256x256; got {text!r}") from e
    return n, h, w


def _shape3(value: Any, which: str) -> Shape3:
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if (len(items) != 3 or any(isinstance(v, bool) or int(v) != v for v in items)
            or any(int(v) < 1 for v in items)):
        raise InvalidInputError(f"profile {which} must be (N, H, W) with positive integers, "
                                f"got {value!r}")
    return tuple(int(v) for v in items)  # type: ignore[return-value]


@dataclasses.dataclass(frozen=True)
class Profile:
    """One optimisation profile: min / opt / max of ``(N, H, W)``; channels follow the tensor.

    Construction checks the structure (three positive integers each, ``min <= opt <= max`` per
    axis), which every profile must have, including one read from an engine built elsewhere.
    Profiles asked for in a build (:meth:`parse`, ``EngineRequest``) must also keep H and W on
    the contract's multiple of 16 (:meth:`check_model_sizes`).
    """

    min: Shape3
    opt: Shape3
    max: Shape3

    def __post_init__(self) -> None:
        for which in ("min", "opt", "max"):
            object.__setattr__(self, which, _shape3(getattr(self, which), which))
        for i, axis in enumerate("NHW"):
            if not self.min[i] <= self.opt[i] <= self.max[i]:
                raise InvalidInputError(f"profile {self}: {axis} needs min <= opt <= max")

    @classmethod
    def parse(cls, text: str) -> Profile:
        """``"1x256x256:1x256x256:4x1024x1024"`` (min:opt:max) or one ``NxHxW`` (fixed),
        checked against the model's size multiple (a profile to build with)."""
        parts = text.split(":")
        if len(parts) == 1:
            parts = parts * 3
        if len(parts) != 3:
            raise InvalidInputError(f"a profile is MIN:OPT:MAX, each NxHxW; got {text!r}")
        return cls(*(_parse_nhw(p) for p in parts)).check_model_sizes()

    def check_model_sizes(self) -> Profile:
        """``self`` when every H and W is a multiple of the model's; InvalidInputError otherwise."""
        for s in (self.min, self.opt, self.max):
            check_spatial_size(s[1], s[2])
        return self

    def accepts_spatial(self, h: int, w: int) -> bool:
        return self.min[1] <= h <= self.max[1] and self.min[2] <= w <= self.max[2]

    def accepts(self, n: int, h: int, w: int) -> bool:
        return self.min[0] <= n <= self.max[0] and self.accepts_spatial(h, w)

    def shapes(self, channels: int) -> tuple[tuple[int, ...], ...]:
        """(min, opt, max) NCHW shapes for a tensor with ``channels`` channels."""
        return tuple((s[0], channels, s[1], s[2]) for s in (self.min, self.opt, self.max))

    def to_dict(self) -> dict[str, list[int]]:
        """The sidecar form: ``{"min": [N, H, W], "opt": [...], "max": [...]}``."""
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}

    @classmethod
    def from_dict(cls, d: dict[str, Sequence[int]]) -> Profile:
        try:
            return cls(d["min"], d["opt"], d["max"])  # type: ignore[arg-type]
        except (KeyError, TypeError) as e:
            raise InvalidInputError(f"a profile is {{'min', 'opt', 'max'}}, got {d!r}") from e

    def __str__(self) -> str:
        return ":".join("x".join(str(v) for v in s) for s in (self.min, self.opt, self.max))


#: What ``rmnet-export`` builds when no profile is given: one image of 256 to four of 1024.
DEFAULT_PROFILE = Profile((1, 256, 256), (1, 256, 256), (4, 1024, 1024))


def describe_profiles(profiles: Sequence[Profile]) -> str:
    return ", ".join(f"N {p.min[0]}-{p.max[0]} H {p.min[1]}-{p.max[1]} W {p.min[2]}-{p.max[2]}"
                     for p in profiles)


def plan_batches(profiles: Sequence[Profile], n: int, h: int, w: int) -> list[tuple[slice, int]]:
    """``(items, profile index)`` chunks covering ``range(n)`` at ``h x w``, each accepted whole.

    Per chunk: the profile that takes the most of what is left, then the one whose ``opt`` is
    closest (sum of absolute differences of N, H, W; TensorRT tunes kernels for ``opt``), then
    the lowest index. :class:`InvalidInputError` when no profile takes ``h x w``, or when what is
    left of the batch is below every fitting profile's minimum N (TensorRT would refuse it).
    """
    if not any(p.accepts_spatial(h, w) for p in profiles):
        raise InvalidInputError(f"no optimisation profile of this engine accepts {h}x{w} "
                                f"(profiles: {describe_profiles(profiles)}); rebuild the engine "
                                "with a wider profile")
    chunks, begin = [], 0
    while begin < n:
        left = n - begin
        best, best_key = -1, None
        for i, p in enumerate(profiles):
            if not p.accepts_spatial(h, w) or p.min[0] > left:
                continue
            take = min(left, p.max[0])
            key = (-take, abs(p.opt[0] - take) + abs(p.opt[1] - h) + abs(p.opt[2] - w), i)
            if best_key is None or key < best_key:
                best, best_key = i, key
        if best < 0:
            raise InvalidInputError(
                f"a batch of {left} at {h}x{w} is below the minimum batch of every profile that "
                f"takes this size ({describe_profiles(profiles)}); rebuild the engine with "
                "min N = 1")
        take = min(left, profiles[best].max[0])
        chunks.append((slice(begin, begin + take), best))
        begin += take
    return chunks


def select_profile(profiles: Sequence[Profile], n: int, h: int, w: int) -> int:
    """The profile the first chunk of a batch of ``n`` at ``h x w`` runs with (see
    :func:`plan_batches`: there is one rule)."""
    return plan_batches(profiles, max(1, int(n)), h, w)[0][1]
