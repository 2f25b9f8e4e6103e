"""A bounded load generator for ``rmnet serve``: concurrent clients, mixed sizes, bad requests.

Bounded in count and time (a load test must never run away on a shared machine): ``requests``
requests from ``concurrency`` client threads, stopped at ``time_cap_s``. About
``bad_fraction`` of the requests are malformed on purpose (wrong dtype, wrong channel count,
mismatched mask, zero pixels, unknown strategy); each must be rejected with
:class:`~rmnet_sdk.errors.InvalidInputError`, and every valid one must come back filled, with
its known pixels untouched. Latency is measured per request on the client, around
``InpaintClient.inpaint``.
"""

from __future__ import annotations

import queue
import threading
import time
import urllib.request
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError

DEFAULT_SIZES = ((96, 128), (128, 128), (120, 160), (192, 256), (256, 256))
BAD_KINDS = ("float_image", "four_channels", "mask_size", "empty", "strategy")


@dataclass
class LoadRequest:
    kind: str  # "valid" or one of BAD_KINDS
    image: np.ndarray
    mask: np.ndarray
    strategy: str | None = None


def make_requests(n: int, *, sizes=DEFAULT_SIZES, bad_fraction: float = 0.1,
                  seed: int = 0) -> list[LoadRequest]:
    """``n`` requests, a pure function of the arguments; bad kinds cycle through BAD_KINDS."""
    rng = np.random.default_rng(seed)
    out: list[LoadRequest] = []
    bad_index = 0
    for _ in range(n):
        h, w = sizes[int(rng.integers(len(sizes)))]
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        mask = np.zeros((h, w), np.uint8)
        y, x = int(rng.integers(0, h // 2)), int(rng.integers(0, w // 2))
        mask[y:y + h // 3, x:x + w // 3] = 255
        if rng.random() >= bad_fraction:
            out.append(LoadRequest("valid", image, mask))
            continue
        kind = BAD_KINDS[bad_index % len(BAD_KINDS)]
        bad_index += 1
        if kind == "float_image":
            out.append(LoadRequest(kind, image.astype(np.float32) / 255, mask))
        elif kind == "four_channels":
            out.append(LoadRequest(kind, np.dstack([image, image[..., :1]]), mask))
        elif kind == "mask_size":
            out.append(LoadRequest(kind, image, mask[: h // 2]))
        elif kind == "empty":
            out.append(LoadRequest(kind, image[:0], mask[:0]))
        else:
            out.append(LoadRequest(kind, image, mask, strategy="sharpen"))
    return out


@dataclass
class Outcome:
    kind: str
    latency_s: float
    ok: bool          # valid: filled and correct; bad: rejected with InvalidInputError
    error: str = ""


def _check_valid(req: LoadRequest, out: np.ndarray) -> str:
    if out.shape != req.image.shape or out.dtype != np.uint8:
        return f"output {out.shape} {out.dtype} for input {req.image.shape}"
    known = req.mask == 0
    if not np.array_equal(out[known], req.image[known]):
        return "known pixels changed"
    return ""


def _one(client, req: LoadRequest) -> Outcome:
    t0 = time.perf_counter()
    try:
        out = client.inpaint(req.image, req.mask, strategy=req.strategy)
    except InvalidInputError as e:
        dt = time.perf_counter() - t0
        return Outcome(req.kind, dt, req.kind != "valid", "" if req.kind != "valid" else str(e))
    except Exception as e:  # anything else is a failure, whatever the request
        return Outcome(req.kind, time.perf_counter() - t0, False, f"{type(e).__name__}: {e}")
    dt = time.perf_counter() - t0
    if req.kind != "valid":
        return Outcome(req.kind, dt, False, "bad request was accepted")
    problem = _check_valid(req, out)
    return Outcome(req.kind, dt, not problem, problem)


def scrape_metrics(url: str) -> dict[str, float]:
    """Triton's Prometheus counters for the model, summed over labels (name -> value)."""
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        try:
            totals[name] = totals.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return totals


def settled_metrics(url: str, *, quiet_s: float = 2.5, timeout_s: float = 10.0) -> dict[str, float]:
    """:func:`scrape_metrics` once the counters have not changed for ``quiet_s`` (Triton may
    count a finished request a moment after its response reached the client, so a scrape right
    after a run can miss the last one). Gives up after ``timeout_s`` with the latest values."""
    last, since = scrape_metrics(url), time.monotonic()
    end = since + timeout_s
    while time.monotonic() < end:
        time.sleep(0.25)
        now = scrape_metrics(url)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
    return last


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def run_load(url: str, *, requests: list[LoadRequest], concurrency: int = 8,
             time_cap_s: float = 60.0, protocols: tuple[str, ...] = ("http", "grpc"),
             grpc_url: str | None = None, metrics_url: str | None = None) -> dict:
    """Send ``requests`` from ``concurrency`` threads (client i uses ``protocols[i % k]``);
    stop starting new ones at ``time_cap_s``. Returns the report as a dict."""
    from .client import InpaintClient

    work: queue.Queue[int] = queue.Queue()
    for i in range(len(requests)):
        work.put(i)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    before = settled_metrics(metrics_url) if metrics_url else {}
    start = time.perf_counter()
    deadline = start + time_cap_s

    def worker(index: int) -> None:
        proto = protocols[index % len(protocols)]
        target = grpc_url if proto == "grpc" and grpc_url else url
        with InpaintClient(target, proto) as client:
            while time.perf_counter() < deadline:
                try:
                    i = work.get_nowait()
                except queue.Empty:
                    return
                outcome = _one(client, requests[i])
                with lock:
                    outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    valid = [o for o in outcomes if o.kind == "valid"]
    bad = [o for o in outcomes if o.kind != "valid"]
    lat_ms = [o.latency_s * 1000 for o in valid]
    report = {
        "requests_planned": len(requests),
        "requests_sent": len(outcomes),
        "not_sent_time_cap": len(requests) - len(outcomes),
        "concurrency": concurrency,
        "protocols": list(protocols),
        "time_cap_s": time_cap_s,
        "wall_s": round(wall, 3),
        "throughput_rps": round(len(outcomes) / wall, 3) if wall else None,
        "valid_throughput_rps": round(len(valid) / wall, 3) if wall else None,
        "valid": len(valid),
        "valid_errors": sum(not o.ok for o in valid),
        "bad": len(bad),
        "bad_rejected": sum(o.ok for o in bad),
        "bad_mishandled": sum(not o.ok for o in bad),
        "latency_ms_valid": {"p50": _percentile(lat_ms, 50), "p90": _percentile(lat_ms, 90),
                             "p99": _percentile(lat_ms, 99),
                             "max": max(lat_ms) if lat_ms else None},
        "errors": sorted({f"{o.kind}: {o.error}" for o in outcomes if not o.ok})[:20],
    }
    if metrics_url:
        after = settled_metrics(metrics_url)
        delta = {k: after.get(k, 0.0) - before.get(k, 0.0)
                 for k in ("nv_inference_request_success", "nv_inference_request_failure",
                           "nv_inference_count", "nv_inference_exec_count")}
        report["server"] = delta
        if delta["nv_inference_exec_count"]:
            report["server"]["mean_batch_size"] = round(
                delta["nv_inference_count"] / delta["nv_inference_exec_count"], 3)
    return report


def report_markdown(report: dict, title: str = "rmnet serve load test") -> str:
    lat = report["latency_ms_valid"]

    def ms(v):
        return "-" if v is None else f"{v:.1f}"

    lines = [
        f"# {title}", "",
        "| measure | value |", "| --- | --- |",
        f"| requests sent / planned | {report['requests_sent']} / {report['requests_planned']} |",
        f"| concurrent clients (protocols) | {report['concurrency']} ({', '.join(report['protocols'])}) |",
        f"| wall time (cap) | {report['wall_s']:.1f} s ({report['time_cap_s']:g} s) |",
        f"| throughput, all requests | {report['throughput_rps']:.2f} req/s |",
        f"| throughput, valid requests | {report['valid_throughput_rps']:.2f} req/s |",
        f"| latency p50 / p90 / p99 / max (valid) | {ms(lat['p50'])} / {ms(lat['p90'])} / "
        f"{ms(lat['p99'])} / {ms(lat['max'])} ms |",
        f"| valid requests / errors | {report['valid']} / {report['valid_errors']} |",
        f"| bad requests / rejected with InvalidInputError | {report['bad']} / "
        f"{report['bad_rejected']} |",
    ]
    if "server" in report:
        s = report["server"]
        lines.append(f"| server: successes / failures / executions / mean batch | "
                     f"{s['nv_inference_request_success']:.0f} / "
                     f"{s['nv_inference_request_failure']:.0f} / "
                     f"{s['nv_inference_exec_count']:.0f} / {s.get('mean_batch_size', '-')} |")
    if report["errors"]:
        lines += ["", "Errors:", *[f"- {e}" for e in report["errors"]]]
    return "\n".join(lines) + "\n"
