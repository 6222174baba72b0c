"""What the OpenAI-compatible gateway adds on top of a model server, at 1, 50 and 500 concurrent streams.

A fake OpenAI-compatible upstream (its own process, pre-encoded events) streams N tokens at a fixed pace.
In the same run, the same load goes once directly to the upstream and once through ModelHub's
gateway (a real uvicorn process: token auth, rate limit, endpoint lookup in SQLite, the relay).
Reported per concurrency: time to first token (p50, p99) direct and through the gateway and the
difference, token throughput ratio (gateway / direct), and the gateway process's memory (peak RSS)
and thread count; each the median of several direct-then-gateway rounds. On a machine with two
CPUs or more the gateway gets a CPU of its own (see `pin_cpus`).

    .venv/bin/python bench/bench_gateway.py [--tokens 64] [--pace-ms 40] [--concurrency 1,50,500] [--rounds 3]
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

try:  # the load generator and fake upstream should cost as little CPU as they can: the gateway shares the machine
    from uvloop import run as run_loop
except ImportError:
    run_loop = asyncio.run

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.results import record  # noqa: E402

CONTENT = re.compile(rb'"content": ?"[^"]')


# --------------------------------------------------------------------------- fake upstream
def serve_fake(tokens: int, pace: float, port_file: str) -> None:
    """An OpenAI-compatible streaming server that costs as little as possible per event."""

    def frame(payload: bytes) -> bytes:  # one HTTP chunk
        return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"

    def chunk(delta: dict, finish=None) -> bytes:
        data = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "bench-served",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return frame(b"data: " + json.dumps(data).encode() + b"\n\n")

    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    first = chunk({"role": "assistant", "content": ""})
    words = [chunk({"content": f" tok{i}"}) for i in range(tokens)]
    last = chunk({}, "stop") + frame(b"data: [DONE]\n\n") + b"0\r\n\r\n"

    async def handle(reader, writer):
        try:
            while True:
                head_bytes = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head_bytes).group(1))
                await reader.readexactly(length)
                writer.write(head + first)
                for word in words:
                    await asyncio.sleep(pace)
                    writer.write(word)
                    await writer.drain()
                writer.write(last)
                await writer.drain()
                if b"connection: close" in head_bytes.lower():
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
        async with server:
            await server.serve_forever()

    run_loop(main())


# --------------------------------------------------------------------------- client
async def one_stream(port: int, path: str, body: bytes, token: str | None, delay: float = 0.0) -> tuple[float, float, int, bool]:
    await asyncio.sleep(delay)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n{auth}Connection: close\r\n\r\n").encode() + body
    started = time.perf_counter()
    writer.write(request)
    buffer, ttft = bytearray(), None
    while True:
        data = await reader.read(65536)
        if not data:
            break
        scan_from = max(0, len(buffer) - 16)
        buffer += data
        if ttft is None and CONTENT.search(buffer, scan_from):
            ttft = time.perf_counter() - started
    total = time.perf_counter() - started
    writer.close()
    ok = buffer.startswith(b"HTTP/1.1 200") and b"data: [DONE]" in buffer
    return ttft or total, total, len(CONTENT.findall(buffer)), ok


async def run_batch(concurrency: int, port: int, path: str, body: bytes, token: str | None, spread: float = 0.0,
                    repeats: int = 1) -> dict:
    """`concurrency` streams, their starts spread evenly over `spread` seconds (0: all at once); `repeats`
    such batches one after another, pooled (so that one stream still gives a median)."""
    results, wall = [], 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        results += await asyncio.gather(*(one_stream(port, path, body, token, spread * i / concurrency)
                                          for i in range(concurrency)))
        wall += time.perf_counter() - started
    failed = sum(1 for r in results if not r[3])
    ttfts = sorted(r[0] * 1000 for r in results)
    return {
        "ttft_p50": statistics.median(ttfts),
        "ttft_p99": ttfts[min(len(ttfts) - 1, int(round(0.99 * (len(ttfts) - 1))))],
        "tokens": sum(r[2] for r in results),
        "throughput": sum(r[2] for r in results) / wall,
        "failed": failed,
    }


class ProcessSampler:
    """Peak RSS (MiB), thread count and CPU seconds used by a process while the block runs."""

    def __init__(self, pid: int):
        self.pid, self.peak_rss, self.peak_threads = pid, 0.0, 0
        self._stop = threading.Event()

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def read(self) -> tuple[float, int]:
        status = Path(f"/proc/{self.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
        threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
        return rss, threads

    def __enter__(self):
        self.cpu_start = self.cpu_seconds()

        def loop():
            while not self._stop.is_set():
                rss, threads = self.read()
                self.peak_rss, self.peak_threads = max(self.peak_rss, rss), max(self.peak_threads, threads)
                time.sleep(0.05)
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.cpu = self.cpu_seconds() - self.cpu_start


# --------------------------------------------------------------------------- setup
def prepare_database(env: dict, upstream_port: int) -> str:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = f"""
import django; django.setup()
from django.contrib.auth.models import Group
from apps.users.models import ApiToken, User
from apps.endpoints.models import Endpoint
user = User.objects.create_user(username="bench", password="bench-password-123")
user.groups.add(Group.objects.get(name="default"))
Endpoint.objects.create(owner=user, name="bench", target="local", status="in_service", source="hf", model_uri="org/m",
    engine="vllm", instance_type="local", served_model_name="bench-served", invocation_url="http://127.0.0.1:{upstream_port}")
print(ApiToken.issue(user, "bench")[1])
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def pin_cpus(pin: bool) -> tuple[set[int], set[int]] | None:
    """With `pin` and two CPUs or more: the gateway gets the last CPU to itself and this process (the
    load generator) and the fake upstream the others, so that the comparison measures the gateway's
    own cost rather than its fight with the load generator for a CPU. Direct runs use the same CPUs
    for the client and upstream. None when not pinned."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return None
    gateway, load = {cpus[-1]}, set(cpus[:-1])
    os.sched_setaffinity(0, load)  # inherited by the fake upstream started after this
    return gateway, load


def median_row(rounds: list[dict]) -> dict:
    """The per-round comparisons of one case, summarised by their medians (peak RSS: the highest)."""
    def med(key):
        return statistics.median(r[key] for r in rounds)
    return {
        "direct_p50": med("direct_p50"), "gateway_p50": med("gateway_p50"), "added_p50": med("added_p50"),
        "added_p99": med("added_p99"), "ratio": med("ratio"), "direct_tps": med("direct_tps"),
        "gateway_tps": med("gateway_tps"), "cpu": med("cpu"), "rss": max(r["rss"] for r in rounds),
        "threads": max(r["threads"] for r in rounds), "failed": sum(r["failed"] for r in rounds),
        "ratios": sorted(r["ratio"] for r in rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--pace-ms", type=float, default=40.0)
    parser.add_argument("--concurrency", default="1,50,500")
    parser.add_argument("--rounds", type=int, default=3, help="direct-then-gateway comparisons per case; medians reported")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let the gateway share every CPU with the load generator and fake upstream")
    parser.add_argument("--server", default="auto", choices=["auto", "plain"],
                        help="plain: uvicorn on asyncio + h11 even when uvloop/httptools are installed")
    parser.add_argument("--serve-fake", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args.tokens, args.pace_ms / 1000, args.serve_fake)
        return

    pinned = pin_cpus(args.pin)
    data_dir = tempfile.mkdtemp(prefix="mh-bench-gateway-")
    port_file = Path(data_dir) / "fake.port"
    fake = subprocess.Popen([sys.executable, __file__, "--serve-fake", str(port_file), "--tokens", str(args.tokens),
                             "--pace-ms", str(args.pace_ms)])
    from tests.stack import free_port

    gateway_port = free_port()
    env = {**os.environ, "DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "modelhub.settings", "LOG_LEVEL": "WARNING",
           "CHAT_RATE_LIMIT_REQUESTS": "0", "DEBUG": "false"}
    env.pop("DATABASE_URL", None)
    web = None
    results: dict[tuple[int, str], list[dict]] = {}
    try:
        while not port_file.exists():
            time.sleep(0.05)
        upstream_port = int(port_file.read_text())
        token = prepare_database(env, upstream_port)
        web = subprocess.Popen([sys.executable, "-m", "uvicorn", "modelhub.asgi:application", "--host", "127.0.0.1",
                                "--port", str(gateway_port), "--lifespan", "on", "--no-access-log",
                                "--backlog", "4096", "--log-level", "warning",
                                *(["--loop", "asyncio", "--http", "h11"] if args.server == "plain" else [])],
                               cwd=ROOT, env=env)
        if pinned:
            os.sched_setaffinity(web.pid, pinned[0])
        wait_for_port(gateway_port)
        body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "go"}], "stream": True}).encode()
        # Warm up both paths (imports, first DB connection, upstream client).
        run_loop(run_batch(2, gateway_port, "/v1/chat/completions", body, token))
        baseline_rss, baseline_threads = ProcessSampler(web.pid).read()

        duration = args.tokens * args.pace_ms / 1000
        for round_number in range(1, args.rounds + 1):
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                # One stream: no difference between the patterns; 10 in a row for a meaningful median.
                patterns = (("spread", duration), ("burst", 0.0)) if concurrency > 1 else (("one at a time", 0.0),)
                repeats = 10 if concurrency == 1 else 1
                for arrival, spread in patterns:
                    direct = run_loop(run_batch(concurrency, upstream_port, "/v1/chat/completions", body, None,
                                                   spread, repeats))
                    with ProcessSampler(web.pid) as sampler:
                        gateway = run_loop(run_batch(concurrency, gateway_port, "/v1/chat/completions", body, token,
                                                        spread, repeats))
                    row = {
                        "direct_p50": direct["ttft_p50"], "gateway_p50": gateway["ttft_p50"],
                        "added_p50": gateway["ttft_p50"] - direct["ttft_p50"],
                        "added_p99": gateway["ttft_p99"] - direct["ttft_p99"],
                        "ratio": gateway["throughput"] / direct["throughput"],
                        "direct_tps": direct["throughput"], "gateway_tps": gateway["throughput"],
                        "cpu": sampler.cpu / max(1, gateway["tokens"]) * 1e6, "rss": sampler.peak_rss,
                        "threads": sampler.peak_threads, "failed": direct["failed"] + gateway["failed"],
                    }
                    results.setdefault((concurrency, arrival), []).append(row)
                    print(f"round {round_number}: {concurrency:>4} streams, {arrival}: TTFT p50 +{row['added_p50']:.1f} ms, "
                          f"p99 +{row['added_p99']:.1f} ms; throughput {row['ratio']:.1%} of direct; "
                          f"RSS {row['rss']:.0f} MiB, threads {row['threads']}, CPU {row['cpu']:.0f} µs/token; "
                          f"failed {row['failed']}", flush=True)
    finally:
        for process in (web, fake):
            if process is not None:
                process.terminate()
                process.wait(10)

    print()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    placement = (f"gateway pinned to CPU {sorted(pinned[0])}, load generator and fake upstream to {sorted(pinned[1])}"
                 if pinned else "nothing pinned")
    print(f"{args.tokens} tokens per stream, one every {args.pace_ms:g} ms; medians of {args.rounds} rounds; "
          f"gateway idle RSS {baseline_rss:.0f} MiB, {baseline_threads} threads; {os.cpu_count()} CPUs, {placement}; "
          f"load average {load} (1, 5, 15 min) at the end")
    print("| streams | arrivals | TTFT p50 direct → gateway (added) | added TTFT p99 | throughput gateway / direct "
          "(rounds) | gateway peak RSS | gateway threads | gateway CPU per token (request set-up included) | failed streams |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (concurrency, arrival), rounds in results.items():
        row = median_row(rounds)
        ratios = ", ".join(f"{r:.1%}" for r in row["ratios"])
        print(f"| {concurrency} | {arrival} | {row['direct_p50']:.1f} → {row['gateway_p50']:.1f} ms "
              f"(**+{row['added_p50']:.1f} ms**) | +{row['added_p99']:.1f} ms "
              f"| **{row['ratio']:.1%}** ({row['gateway_tps']:.0f} vs {row['direct_tps']:.0f} tok/s; {ratios}) "
              f"| {row['rss']:.0f} MiB | {row['threads']} | {row['cpu']:.0f} µs | {row['failed']} |")
    record("bench_gateway", "OpenAI-compatible gateway: streaming overhead", gateway_figures(results),
           note=f"{args.tokens} tokens per stream, one every {args.pace_ms:g} ms; medians of {args.rounds} rounds; "
                f"{placement}.")


def gateway_figures(results: dict) -> dict:
    figures = {}
    for (concurrency, arrival), rounds in results.items():
        row = median_row(rounds)
        case = f"{concurrency} streams, {arrival}"
        figures[f"{case}: added TTFT p50 / p99 (ms)"] = f"+{row['added_p50']:.1f} / +{row['added_p99']:.1f}"
        figures[f"{case}: throughput gateway / direct"] = f"{row['ratio']:.1%}"
        figures[f"{case}: gateway CPU per token, peak RSS, failed"] = \
            f"{row['cpu']:.0f} µs, {row['rss']:.0f} MiB, {row['failed']}"
    return figures


if __name__ == "__main__":
    main()
