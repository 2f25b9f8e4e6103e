"""``rmnet serve`` on a real ``tritonserver`` (PyTriton), loopback only, plus its client.

One server per module (start-up is a few seconds): two model instances, dynamic batching, the
bundled model on ONNX Runtime with one thread per instance. Results are compared with the
in-process ``Inpainter`` on the same model, backend and threads.
"""

from __future__ import annotations

import threading
import urllib.request

import numpy as np
import pytest

from rmnet_sdk.errors import BackendUnavailableError, InvalidInputError

SERVE_ARGS = ["--max-batch", "4", "--max-queue-delay-us", "20000", "--instances", "2",
              "--threads", "1"]


def _require_pytriton() -> None:
    from conftest import require_modules

    require_modules("pytriton", "tritonclient.grpc", "tritonclient.http", what="serving",
                    install="the serve extra and nvidia-pytriton")


@pytest.fixture(scope="module")
def server():
    _require_pytriton()
    from rmnet_sdk.serving.process import ServerProcess

    with ServerProcess(SERVE_ARGS) as srv:
        yield srv
    assert not srv.alive()


@pytest.fixture(scope="module")
def reference():
    from rmnet_sdk import Inpainter

    return Inpainter(threads=1)


def _photo(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from conftest import synthetic_photo

    rng = np.random.default_rng(seed)
    image = synthetic_photo(rng, h, w)
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4: h // 2, w // 3: 2 * w // 3] = 255
    return image, mask


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


def test_health_readiness_and_metrics_endpoints(server):
    ep = server.endpoints
    assert ep["status"] == "ready"
    for key in ("live", "ready", "model_ready"):
        assert _get(ep[key])[0] == 200, key
    status, text = _get(server.metrics_url)
    assert status == 200
    assert 'nv_inference_request_success{model="rmnet"' in text


def test_model_config_has_dynamic_batching_and_instances(server):
    import tritonclient.grpc as grpcclient

    cfg = grpcclient.InferenceServerClient(server.grpc_url).get_model_config("rmnet").config
    assert cfg.max_batch_size == 4
    assert cfg.dynamic_batching.max_queue_delay_microseconds == 20000
    assert sum(g.count for g in cfg.instance_group) == 2
    assert [(i.name, i.data_type, list(i.dims)) for i in cfg.input] == [
        ("image", cfg.input[0].data_type, [-1, -1, 3]), ("mask", cfg.input[1].data_type, [-1, -1])]
    assert [o.name for o in cfg.output] == ["inpainted"]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_served_result_equals_the_sdk(server, reference, protocol):
    from rmnet_sdk.serving import InpaintClient

    image, mask = _photo(72, 100, seed=1)
    url = server.http_url if protocol == "http" else server.grpc_url
    with InpaintClient(url, protocol) as client:
        assert client.is_live() and client.is_ready()
        out = client.inpaint(image, mask)
        resized = client.inpaint(image, mask, strategy="resize")
        bgr = client.inpaint(np.ascontiguousarray(image[..., ::-1]), mask, color="bgr")
    np.testing.assert_array_equal(out, reference.run(image, mask))
    np.testing.assert_array_equal(resized, reference.run(image, mask, strategy="resize"))
    assert not np.array_equal(out, resized)  # the parameter reached the server
    np.testing.assert_array_equal(bgr, out[..., ::-1])


def test_batch_request_of_same_sized_images(server, reference):
    from rmnet_sdk.serving import InpaintClient

    pairs = [_photo(64, 80, seed=s) for s in (2, 3, 4)]
    images = np.stack([p[0] for p in pairs])
    masks = np.stack([p[1] for p in pairs])
    with InpaintClient(server.http_url) as client:
        out = client.inpaint(images, masks.astype(bool))
    assert out.shape == images.shape
    for i in range(3):
        np.testing.assert_array_equal(out[i], reference.run(images[i], masks[i]))


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_bad_requests_get_clear_errors_and_the_server_keeps_serving(server, protocol):
    from rmnet_sdk.serving import InpaintClient

    image, mask = _photo(48, 64, seed=5)
    url = server.http_url if protocol == "http" else server.grpc_url
    cases = [
        ((image.astype(np.float32), mask), {}, "expects 'UINT8'"),
        ((np.dstack([image, image[..., :1]]), mask), {}, "unexpected shape for input 'image'"),
        ((image, mask[:20]), {}, "mask is 20x64 but its image is 48x64"),
        ((image[:0], mask[:0]), {}, "zero pixels"),
        ((image, mask), {"strategy": "sharpen"}, "strategy must be one of"),
        ((image, mask), {"color": "hsv"}, "color must be one of"),
    ]
    with InpaintClient(url, protocol) as client:
        for (img, m), kwargs, expected in cases:
            with pytest.raises(InvalidInputError, match="server rejected the request") as info:
                client.inpaint(img, m, **kwargs)
            assert expected in str(info.value)
        out = client.inpaint(image, mask)
    assert out.shape == image.shape and server.alive()


def test_concurrent_clients_all_succeed(server, reference):
    from rmnet_sdk.serving import InpaintClient

    image, mask = _photo(64, 64, seed=6)
    expected = reference.run(image, mask)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def client_thread(protocol: str) -> None:
        url = server.http_url if protocol == "http" else server.grpc_url
        try:
            with InpaintClient(url, protocol) as client:
                for _ in range(3):
                    results.append(client.inpaint(image, mask))
        except BaseException as e:  # reported below, with the thread's own error
            errors.append(e)

    threads = [threading.Thread(target=client_thread, args=(p,)) for p in ["http", "grpc"] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(results) == 18
    for out in results:  # batched with others or alone, the same bytes
        np.testing.assert_array_equal(out, expected)


def test_short_load_run_has_no_errors(server):
    """The CI-sized version of benchmarks/serve_load.py (the full run is a benchmark)."""
    from rmnet_sdk.serving.load import make_requests, run_load

    reqs = make_requests(40, sizes=((48, 64), (64, 64), (80, 96)), bad_fraction=0.1, seed=7)
    report = run_load(server.http_url, grpc_url=server.grpc_url, metrics_url=server.metrics_url,
                      requests=reqs, concurrency=4, time_cap_s=60)
    assert report["requests_sent"] == 40, report
    assert report["valid_errors"] == 0 and report["bad_mishandled"] == 0, report["errors"]
    assert report["bad"] == sum(r.kind != "valid" for r in reqs) > 0
    assert report["server"]["nv_inference_request_success"] == report["valid"]
    assert server.alive()


def test_client_reports_an_unreachable_server():
    _require_pytriton()
    from rmnet_sdk.serving import InpaintClient
    from rmnet_sdk.serving.process import free_loopback_ports

    (port,) = free_loopback_ports(1)
    with InpaintClient(f"127.0.0.1:{port}", "http", timeout_s=2) as client:
        assert not client.is_live()
        with pytest.raises(BackendUnavailableError):
            client.inpaint(*_photo(16, 16))


def test_missing_stub_env_is_a_typed_error(tmp_path):
    from rmnet_sdk.serving.environment import resolve_stub_env

    with pytest.raises(BackendUnavailableError, match="prepare-stub-env"):
        resolve_stub_env(tmp_path / "nowhere")


class _FakeRequest(dict):
    """What PyTriton hands the inference callable: arrays by input name, plus parameters."""

    def __init__(self, image, mask, **parameters):
        super().__init__(image=image, mask=mask)
        self.parameters = parameters


class _RecordingInpainter:
    """Stands in for Inpainter: fills holes with a constant per (strategy, color), records calls."""

    def __init__(self):
        self.calls = []

    def run(self, images, masks, *, color, strategy):
        self.calls.append((len(images), strategy, color))
        value = {None: 10, "resize": 20}[strategy] + (1 if color == "bgr" else 0)
        return [np.where(m[..., None] > 0, np.uint8(value), img)
                for img, m in zip(images, masks, strict=True)]


def test_infer_function_groups_requests_by_options_and_keeps_order():
    from rmnet_sdk.serving.server import make_infer_function

    img = np.zeros((2, 8, 8, 3), np.uint8)
    mask = np.zeros((2, 8, 8), np.uint8)
    mask[:, 2:4, 2:4] = 1
    fake = _RecordingInpainter()
    infer = make_infer_function(fake)
    out = infer([_FakeRequest(img, mask), _FakeRequest(img[:1], mask[:1], strategy="resize"),
                 _FakeRequest(img, mask, color="bgr"), _FakeRequest(img[:1], mask[:1])])
    assert [o["inpainted"].shape[0] for o in out] == [2, 1, 2, 1]
    assert [int(o["inpainted"][0, 2, 2, 0]) for o in out] == [10, 20, 11, 10]
    assert int(out[0]["inpainted"][0, 0, 0, 0]) == 0  # known pixels untouched
    assert sorted(fake.calls, key=str) == sorted([(3, None, "rgb"), (1, "resize", "rgb"),
                                                  (2, None, "bgr")], key=str)


def test_a_bad_request_fails_its_batch_with_a_message_naming_it():
    from rmnet_sdk.serving.protocol import RESEND_MARKER
    from rmnet_sdk.serving.server import make_infer_function

    img = np.zeros((1, 8, 8, 3), np.uint8)
    mask = np.ones((1, 8, 8), np.uint8)
    fake = _RecordingInpainter()
    infer = make_infer_function(fake)
    with pytest.raises(InvalidInputError) as info:
        infer([_FakeRequest(img, mask, tag="good"), _FakeRequest(img, mask, strategy="x", tag="bad")])
    assert "request bad: strategy must be one of" in str(info.value)
    assert "request good" not in str(info.value) and RESEND_MARKER in str(info.value)
    with pytest.raises(InvalidInputError) as info:  # alone: no resend advice
        infer([_FakeRequest(img, mask, color="hsv")])
    assert "color must be one of" in str(info.value) and RESEND_MARKER not in str(info.value)
    assert fake.calls == []  # nothing ran


def test_valid_requests_succeed_beside_concurrent_bad_ones(server, reference):
    """Same-sized good and bad requests at once: Triton may batch them together (20 ms queue
    delay); the client resends a valid request that a bad one's batch took down."""
    from rmnet_sdk.serving import InpaintClient

    image, mask = _photo(40, 56, seed=8)
    expected = reference.run(image, mask)
    outcomes: list[object] = []

    def send(strategy):
        with InpaintClient(server.grpc_url, "grpc") as client:
            try:
                outcomes.append((strategy, client.inpaint(image, mask, strategy=strategy)))
            except InvalidInputError as e:
                outcomes.append((strategy, e))

    threads = [threading.Thread(target=send, args=(s,)) for s in [None, "sharpen"] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(outcomes) == 8
    for strategy, result in outcomes:
        if strategy is None:
            assert isinstance(result, np.ndarray), result
            np.testing.assert_array_equal(result, expected)
        else:
            assert isinstance(result, InvalidInputError) and "sharpen" in str(result), result


class _FakeResult:
    def __init__(self, array):
        self.array = array

    def as_numpy(self, name):
        assert name == "inpainted"
        return self.array


class _FakeTriton:
    """tritonclient stand-in: fails the first ``failures`` calls with ``message(tag)``."""

    def __init__(self, failures, message):
        self.failures, self.message, self.tags = failures, message, []

    def infer(self, model_name, inputs, outputs=None, parameters=None, **kwargs):
        from tritonclient.utils import InferenceServerException

        self.tags.append(parameters["tag"])
        if len(self.tags) <= self.failures:
            raise InferenceServerException(msg=self.message(parameters["tag"]))
        return _FakeResult(np.zeros((1, 4, 4, 3), np.uint8))

    def close(self):
        pass


def test_client_resends_only_requests_that_another_request_failed():
    _require_pytriton()
    from rmnet_sdk.serving import InpaintClient
    from rmnet_sdk.serving.client import RESEND_ATTEMPTS
    from rmnet_sdk.serving.protocol import RESEND_MARKER

    image, mask = np.zeros((4, 4, 3), np.uint8), np.ones((4, 4), np.uint8)
    other = f"Traceback (most recent call last):\nrmnet_sdk.errors.InvalidInputError: request someone-else: strategy must be one of [...]; 1 valid request(s) of the same dynamic batch were not run: {RESEND_MARKER}"
    client = InpaintClient("127.0.0.1:1")
    client._client = fake = _FakeTriton(2, lambda tag: other)
    assert client.inpaint(image, mask).shape == (4, 4, 3)
    assert len(fake.tags) == 3 and len(set(fake.tags)) == 1  # the same request, sent 3 times

    client._client = fake = _FakeTriton(RESEND_ATTEMPTS + 2, lambda tag: other)
    with pytest.raises(InvalidInputError, match="someone-else"):
        client.inpaint(image, mask)  # gives up after RESEND_ATTEMPTS
    assert len(fake.tags) == RESEND_ATTEMPTS

    own = f"rmnet_sdk.errors.InvalidInputError: request {{}}: strategy must be one of [...]; 1 valid request(s) of the same dynamic batch were not run: {RESEND_MARKER}"
    client._client = fake = _FakeTriton(5, lambda tag: own.format(tag))
    with pytest.raises(InvalidInputError, match="strategy must be one of"):
        client.inpaint(image, mask, strategy="sharpen")
    assert len(fake.tags) == 1  # its own error: never resent
