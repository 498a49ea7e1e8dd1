"""wrk as the load generator, when installed: a Lua script gives every checkout its own
token and Idempotency-Key and stops each thread after its share of answers.

wrk cannot leave a connection idle, so once a thread has sent its share of
checkouts its connections send `GET /healthz` fillers until the outstanding
checkouts are answered; fillers (the only 200s) are not counted, but wrk's
latency percentiles include them (at most one per connection, so ~1% of a
20,000-request run, all fast: they can only pull the percentiles down a hair).
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

RESULT_TAG = "WRK-RESULT "
THREAD_DONE_TAG = "WRK-THREAD-DONE"

_COMMON = r"""
local threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

statuses = {}
answered = 0
local function record(status)
  if answered >= quota then return end  -- answers already in flight when the thread stopped
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  answered = answered + 1
  if answered == quota then
    io.write("@DONE@\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local parts = {}
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do table.insert(parts, string.format('"%s": %d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    '%s{"duration_us": %d, "requests": %d, "statuses": {%s}, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, ' ..
    '"p99.9": %d, "max": %d}}\n',
    "@TAG@", summary.duration, summary.requests, table.concat(parts, ", "), e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
"""

_GET = _COMMON + r"""
function init(args)
  quota = tonumber(args[1])
end
function response(status, headers, body)
  record(status)
end
"""

_CHECKOUT = _COMMON + r"""
local tokens = {}
local sent = 0
local verify_pending = false
local body, prefix, filler
function init(args)
  quota, body, prefix = tonumber(args[1]), args[2], args[3] .. "-" .. wrk.thread:get("id") .. "-"
  for line in io.lines(args[4]) do table.insert(tokens, line) end
  -- wrk calls request() once on the first thread to check the request before it starts: send nothing then.
  verify_pending = wrk.thread:get("id") == 1
  filler = wrk.format("GET", "/healthz")
end
function request()
  if verify_pending then verify_pending = false; return filler end
  if sent >= quota then return filler end
  sent = sent + 1
  local token = tokens[((sent + wrk.thread:get("id")) % #tokens) + 1]
  return wrk.format("POST", "@PATH@", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token,
                                      ["Idempotency-Key"] = prefix .. sent}, body)
end
function response(status, headers, body)
  if status ~= 200 then record(status) end
end
"""


@dataclass
class WrkResult:
    elapsed_s: float
    statuses: dict[str, int]
    errors: dict[str, int]
    latency_ms: dict[str, float]
    sent_requests: int = 0
    notes: list[str] = field(default_factory=list)

    def count(self, *codes: int) -> int:
        return sum(self.statuses.get(str(code), 0) for code in codes)


def available() -> str | None:
    return shutil.which("wrk")


def shares(total: int, threads: int) -> list[int]:
    """Split `total` requests over threads, the remainder to the first ones."""
    return [total // threads + (1 if i < total % threads else 0) for i in range(threads)]


def _run(script: str, url: str, args: list[str], *, threads: int, connections: int, duration_s: float,
         timeout_s: float, workdir: Path) -> WrkResult:
    """Run wrk; when every thread has its share it is interrupted (SIGINT), as wrk would otherwise
    sleep out the whole `-d` duration, and reports the time it really ran."""
    path = workdir / "bench.lua"
    path.write_text(script.replace("@TAG@", RESULT_TAG).replace("@DONE@", THREAD_DONE_TAG))
    command = [available() or "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, math.ceil(duration_s))}s",
               f"--timeout={max(1, round(timeout_s))}s", "-s", str(path), url, "--", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, finished = [], 0
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith(THREAD_DONE_TAG):
                finished += 1
                if finished == threads:
                    proc.send_signal(signal.SIGINT)  # wrk's own way to stop early: it reports, then exits
        stderr = proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = next((line for line in lines if line.startswith(RESULT_TAG)), None)
    if proc.returncode != 0 or result is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {stderr.strip() or chr(10).join(lines)}")
    raw = json.loads(result.removeprefix(RESULT_TAG))
    return WrkResult(
        elapsed_s=raw["duration_us"] / 1e6, statuses=raw["statuses"], errors=raw["errors"],
        latency_ms={k: round(v / 1000, 3) for k, v in raw["latency_us"].items()}, sent_requests=raw["requests"])


def get(url: str, *, count: int, threads: int, connections: int, duration_s: float, workdir: Path,
        timeout_s: float = 30) -> WrkResult:
    """GET `url` until `count` answers (or `duration_s`)."""
    # One quota for all threads: wrk gives each thread connections / threads connections and the same script args.
    quota = str(shares(count, threads)[0])
    return _run(_GET, url, [quota], threads=threads, connections=connections, duration_s=duration_s,
                timeout_s=timeout_s, workdir=workdir)


def checkouts(base_url: str, *, product_id: str, tokens: list[str], run_id: str, count: int, threads: int,
              connections: int, duration_s: float, workdir: Path, timeout_s: float = 30) -> WrkResult:
    """POST /api/orders `count` times over (quota per thread), one token and key each."""
    tokens_file = workdir / "tokens.txt"
    tokens_file.write_text("\n".join(tokens) + "\n")
    body = json.dumps({"items": [{"product_id": product_id, "quantity": 1}]}, separators=(",", ":"))
    quota = shares(count, threads)[0]
    if count % threads:
        raise ValueError(f"with wrk, the attempts ({count}) must split evenly over {threads} threads")
    return _run(_CHECKOUT.replace("@PATH@", "/api/orders"), base_url.rstrip("/") + "/api/orders",
                [str(quota), body, run_id, str(tokens_file)], threads=threads, connections=connections,
                duration_s=duration_s, timeout_s=timeout_s, workdir=workdir)
