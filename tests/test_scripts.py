"""The measuring scripts' logic, fast: statistics, interleaving, wrk parsing, the openfaas mode
against a fake gateway, and one smoke run of coldstart (process) and loadtest."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import gateway as gateway_lib
from harness import launch, load
from harness.stats import instructions, interleave, median_of, percentile, spread
from scripts import coldstart, loadtest
from tests.helpers import ROOT


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99
    assert percentile([3.0], 90) == 3.0
    assert percentile(values, 100) == 100


def test_summarise_reports_what_the_reference_report_did():
    s = load.summarise([0.1, 0.2, 0.3], errors=1, total=4, elapsed=2.0)
    assert s["throughput_rps"] == 2.0 and s["error_rate"] == 0.25
    assert s["avg_ms"] == pytest.approx(200) and s["max_ms"] == pytest.approx(300) and s["p50_ms"] == pytest.approx(200)


def test_parse_wrk():
    out = ("Running 8s test\n WRKJSON {\"requests\": 4000, \"duration_us\": 2000000, \"connect\": 0, \"read\": 1, "
           "\"write\": 0, \"status\": 3, \"timeout\": 0, \"mean_us\": 1500.0, \"max_us\": 9000, \"p50_us\": 1200, "
           "\"p90_us\": 2500, \"p99_us\": 4000}\n").replace(" WRKJSON", "WRKJSON")
    r = load.parse_wrk(out)
    assert r["throughput_rps"] == 2000 and r["non2xx"] == 3 and r["socket_errors"] == 1
    assert r["error_rate"] == pytest.approx(4 / 4000) and r["p99_ms"] == 4.0
    with pytest.raises(RuntimeError, match="no result"):
        load.parse_wrk("wrk: connection refused")


def test_median_of_runs():
    runs = [{"a": 1.0, "b": "x"}, {"a": 3.0, "b": "y"}, {"a": 2.0, "b": "z"}]
    assert median_of(runs) == {"a": 2.0}


def test_interleave_and_stats():
    assert interleave(["A", "B"], 3) == ["A", "B", "A", "B", "A", "B"]
    s = spread([0.3, 0.1, 0.2, 0.5])
    assert (s["n"], s["min"], s["max"]) == (4, 0.1, 0.5) and s["median"] == pytest.approx(0.25)
    assert s["p90"] == 0.5


def test_instructions_count_what_a_program_runs_the_same_each_time():
    """stats.instructions (valgrind, as bench_ratios --instructions counts the request path): a loop
    of 100,000 more turns counts over 100,000 more instructions, and a run counted twice counts
    within a thousandth of itself."""
    if not shutil.which("valgrind"):
        pytest.fail("valgrind is needed for stats.instructions (apt-get install valgrind; .ci/run installs it)")

    def counted(turns: int) -> int:
        return instructions([sys.executable, "-S", "-c", f"for _ in range({turns}): pass"], {"PYTHONHASHSEED": "0"})

    none, some, again = counted(0), counted(100_000), counted(100_000)
    assert some - none > 100_000 and abs(again - some) < some / 1000


class FakeGateway(BaseHTTPRequestHandler):
    """Just enough of the OpenFaaS gateway for a deploy's cold start: deploy, remove, status,
    invoke; the function answers only some time after it was deployed. As the real CE gateway
    (0.27) with faas-swarm does (tests/test_openfaas.py meets it): a removed function's status is
    404 at once while its replica keeps answering for its drain and its container exists until then
    (replica_gone stands for `docker ps`), a call to a function deployed but not ready yet waits
    for it (the gateway polls every 100 ms), and every answer carries X-Served-By:
    openfaas-ce/<version> and X-OpenFaaS-EULA: openfaas-ce. Scaling to zero and the wake-up are not
    faked: tests/test_swarm.py holds them on Docker's swarm mode.
    "pro" marks its answers openfaas-pro/<version> (an assumption: Pro's source is not public);
    "silent" sends neither header (an older or fronted gateway)."""

    edition = "ce"
    state: dict = {}
    calls: list = []
    START = 0.2  # seconds a replica takes to become ready
    DRAIN = 0.5  # seconds a removed replica keeps answering

    @classmethod
    def containers(cls, function: str, stopped: bool = False, field: str = "{{.ID}}") -> list[str]:
        """The function's containers as the engine lists them: a draining replica's among them."""
        s = cls.state
        draining = time.monotonic() < s.get("draining_until", 0)
        return ["replica"] if draining or (s.get("deployed") and s.get("replicas", 1) > 0) else []

    def log_message(self, *args) -> None:
        pass

    def reply(self, status: int, value=None) -> None:
        body = json.dumps(value).encode() if value is not None else b""
        self.send_response(status)
        if self.edition == "ce":
            self.send_header("X-Served-By", "openfaas-ce/0.27.14")
            self.send_header("X-OpenFaaS-EULA", "openfaas-ce")
        elif self.edition == "pro":
            self.send_header("X-Served-By", "openfaas-pro/0.5.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

    def authorised(self) -> bool:
        if self.path.startswith("/system") and self.headers.get("Authorization") is None:
            self.reply(401)
            return False
        return True

    def do_GET(self) -> None:
        if not self.authorised():
            return
        s = self.state
        if self.path == "/system/function/device-price" and s.get("deployed"):
            ready = s.get("replicas", 1) > 0 and time.monotonic() >= s["ready_at"]
            self.reply(200, {"name": "device-price", "availableReplicas": int(ready), "replicas": s.get("replicas", 1),
                             **s["spec"]})
        else:
            self.reply(404)

    def do_DELETE(self) -> None:
        if self.authorised():
            self.calls.append(("delete", self.body()["functionName"]))
            self.state.clear()
            self.state["draining_until"] = time.monotonic() + self.DRAIN
            self.reply(202)

    def do_POST(self) -> None:
        if not self.authorised():
            return
        s = self.state
        if self.path == "/system/functions":
            spec = self.body()
            self.calls.append(("deploy", spec))
            s.update(deployed=True, replicas=1, ready_at=time.monotonic() + self.START,
                     spec={k: v for k, v in spec.items() if k != "service"})
            self.reply(202)
        elif self.path == "/function/device-price":
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            while s.get("deployed") and time.monotonic() < s["ready_at"]:  # as the gateway: poll until ready
                time.sleep(0.1)
            if s.get("deployed") and time.monotonic() >= s["ready_at"]:  # the new replica
                self.calls.append(("answered", "new"))
                self.reply(200, {"normalized_used_price": 4.6})
            elif time.monotonic() < s.get("draining_until", 0):  # the old one, draining
                self.calls.append(("answered", "draining"))
                self.reply(200, {"normalized_used_price": 4.6})
            else:
                self.reply(502 if s.get("deployed") else 404)
        else:
            self.reply(404)


# As faas-cli up deployed it; the gateway's status shows these fields.
DEPLOYED = {"image": "registry.example/me/device-price:latest", "envVars": {"max_inflight": "64"},
            "labels": {"com.openfaas.scale.min": "1"}, "readOnlyRootFilesystem": True}


@pytest.fixture(params=["ce", "pro", "silent"])
def gateway(request, monkeypatch):
    FakeGateway.edition = request.param
    FakeGateway.state = {"deployed": True, "replicas": 1, "ready_at": 0.0, "spec": DEPLOYED}
    FakeGateway.calls = []
    monkeypatch.setattr(gateway_lib.launch, "function_containers", FakeGateway.containers)
    # Its status carries every deploy field (as faas-netes' does); faas-swarm's lacks some, which
    # the tool reads from the swarm service (tests/test_openfaas.py holds it on the real one).
    monkeypatch.setattr(gateway_lib, "swarm_fields", lambda function: {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OPENFAAS_PASSWORD", "secret")
    yield request.param, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_deploy_cold_start_against_a_fake_gateway(gateway, monkeypatch, capsys):
    """The edition as the gateway's headers say (none: the user says); one deploy cold start per
    run: the function removed, redeployed as it was, and the clock stopped at the new replica's
    answer (one call, waiting), never at the old one's while it drained."""
    edition, url = gateway
    api = gateway_lib.Gateway(url, "admin", "secret", "device-price")
    if edition == "silent":
        with pytest.raises(RuntimeError, match="--edition ce or --edition pro"):
            gateway_lib.detect_edition(api)
    else:
        assert gateway_lib.detect_edition(api) == edition
    monkeypatch.setattr(gateway_lib.stats, "breakdown", lambda *args: {"first_200": args[2] - args[1]})
    spec = gateway_lib.deployment(api.status(), "device-price")
    times = [gateway_lib.time_deploy(api, spec, lambda since: "")["seconds"] for _ in range(2)]
    assert all(t >= FakeGateway.START for t in times)  # no answer before the replica is ready
    deployed = False
    for kind, what in FakeGateway.calls:
        deployed = (deployed or kind == "deploy") and kind != "delete"
        assert not (deployed and (kind, what) == ("answered", "draining")), FakeGateway.calls
    kinds = [c[0] for c in FakeGateway.calls]
    assert kinds.count("delete") == 2 and kinds.count("deploy") == 2
    assert ("deploy", {"service": "device-price", **DEPLOYED}) in FakeGateway.calls


def test_coldstart_process_smoke(tmp_path):
    out = tmp_path / "process.json"
    assert coldstart.main(["--mode", "process", "--target", "function", "--floor", "--runs", "1", "--json", str(out),
                           "--quiet"]) == 0
    result = json.loads(out.read_text())
    for name in ("function", launch.FLOOR):
        assert math.isfinite(result["stats"][name]["median"]) and result["stats"][name]["median"] > 0, name


def test_loadtest_smoke(fn_url, tmp_path):
    out = tmp_path / "load.json"
    assert loadtest.main([fn_url + "/", "--requests", "20", "--concurrency", "4", "--json", str(out)]) == 0
    m = json.loads(out.read_text())["median"]
    assert m["requests"] == 20 and m["errors"] == 0 and m["throughput_rps"] > 0 and m["p99_ms"] >= m["p50_ms"]


def test_coldstart_refuses_missing_images(capsys):
    with pytest.raises(SystemExit):
        coldstart.main(["--mode", "docker", "--image", "no-such-image-here"])
    assert "not built" in capsys.readouterr().err


def sample_results() -> dict:
    """What the report reads, in the shape the scripts write it, with made-up figures."""

    def wrk(rps: float, p99: float) -> dict:
        m = {"throughput_rps": rps, "avg_ms": 1.0, "max_ms": 9.0, "p50_ms": 0.5, "p90_ms": 1.0, "p99_ms": p99,
             "error_rate": 0.0, "non2xx": 0, "socket_errors": 0}
        return {"median": m, "runs": [m]}

    def cold(values: dict[str, list[float]], **extra) -> dict:
        return {"mode": "x", "date": "2026-01-01T00:00:00+00:00",
                "runs": {k: [{"seconds": v, **extra} for v in vs] for k, vs in values.items()},
                "stats": {k: spread(vs) for k, vs in values.items()}}

    fn, tf = launch.IMAGES["function"], launch.IMAGES["tensorflow"]
    return {
        "sizes": {"date": "2026-01-01T00:00:00+00:00", "cpus": 2, "machine": "2 cores (a test)",
                  "versions": {"python": "3.11"}, "images": {
            "function": {"image": fn, "mb": 45.0, "gzip_mb": 16.0},
            "server": {"image": launch.IMAGES["server"], "mb": 76.0, "gzip_mb": 28.5},
            "tensorflow": {"image": tf, "mb": 2000.0, "gzip_mb": 760.0}}},
        "coldstart-process": cold({"function": [0.1, 0.12], "tensorflow": [3.0, 3.5]}),
        "coldstart-docker": cold({fn: [0.3, 0.4], launch.IMAGES["server"]: [0.3], tf: [2.5, 2.6],
                                  launch.FLOOR: [0.31, 0.32]}),
        "coldstart-pull": cold({fn: [1.4], tf: [22.0]}, compressed_bytes=30_000_000),
        "load": {"date": "2026-01-01", "targets": {label: {
            "reference_run": wrk(1000, 9), "reference_run_client_ceiling": wrk(1500, 5),
            "wrk": {"1": wrk(2000, 1), "8": wrk(4000, 3)}} for label in launch.IMAGES}},
        "concurrency": {"tool": "wrk", "runs": 3, "duration_s": 8, "date": "2026-01-01",
                        "machine": {"steal_percent_after": 0.5}, "client_ceiling_health_c8": wrk(10000, 1),
                        "client_ceiling_target": "server (shipped: 2 workers, 1 thread each)",
                        "targets": {"function (shipped: 1 worker, 1 thread)": {"1": wrk(3000, 1), "8": wrk(3900, 4)},
                                    "server (shipped: 2 workers, 1 thread each)": {"1": wrk(3000, 1), "8": wrk(9000, 2)}}},
        "soak": None, "fuzz": {"fn_url": {"cases": 10, "statuses": {"400": 4, "422": 6}, "server_errors": 0}},
        "coldstart-openfaas": {"date": "2026-01-01", "docker_run": {"median_s": 0.45, "runs": [{}, {}]},
                               **{way: {"median_s": seconds, "breakdown_median_s": {
                                   "created": 0.1, "started": 0.25, "healthy": 0.5, "ready": None, "first_200": seconds}}
                                  for way, seconds in (("scale_from_zero", 0.7), ("deploy", 0.9))}},
    }


def test_report_from_sample_results(tmp_path, monkeypatch):
    from harness import readme
    from harness import results as report
    from harness.charts import charts

    data = sample_results()
    pictures = charts(data, tmp_path)
    assert pictures == ["image-sizes.png", "coldstart.png", "load.png"]
    assert all((tmp_path / p).stat().st_size > 5000 for p in pictures)
    targets = {t: met for t, _, _, met in report.targets_table(data)}
    assert targets["function image size"] is True  # 45 MB, 16 MB gzipped
    assert targets["cold start, docker (median)"] is True  # 0.35 s against a floor of 0.315 s
    assert targets["cold start, pull on a fresh node (median)"] is False  # 1.4 s > 1.0 s: a miss shows as one
    assert targets["function, 8 connections"] is False  # 3,900 req/s < 4,000: a miss is shown as one
    text = report.results_md(data)
    assert "| function, 8 connections | ≥ 4,000 req/s, p99 ≤ 5 ms | 3,900 req/s, p99 4.00 ms | **no** |" in text
    assert "30.0 MB compressed pulled per run" in text and "| fn_url | 10 |" in text
    head = report.headline(data)
    page = tmp_path / "README.md"
    page.write_text("before\n<!-- headline:start -->\nold\n<!-- headline:end -->\nafter\n")
    readme.replace_section("headline", head, page)
    assert page.read_text() == f"before\n<!-- headline:start -->\n\n{head}\n\n<!-- headline:end -->\nafter\n"
    assert "| function | 45 MB (16 MB) | 0.70 s | 0.35 s | 1.4 s |" in head
    assert "| server | 76 MB (28 MB) | – | 0.30 s | not measured |" in head
    assert "| the student report (Flask, EKS) | > 3 GB | about 2 s | – | – |" in head
    # the report's scenario beside docker run of the same image in that run: 0.25 s apart, within 0.3 s
    assert targets["cold start, scaled to zero and woken through the OpenFaaS gateway (median)"] is True
    assert "| scaled to zero, woken by one request | 0.70 s | 0.10 s | 0.25 s | 0.50 s | – |" in text


# Every command: a module under scripts/ that runs as a program (a new one is covered when it lands).
COMMANDS = sorted(".".join(p.relative_to(ROOT / "scripts").with_suffix("").parts)
                  for p in (ROOT / "scripts").rglob("*.py") if 'if __name__ == "__main__":' in p.read_text())
# Run as files too: the design card's `python scripts/coldstart.py`, and slim_rootfs.py, which the
# image's build stage runs with its own python3.
AS_FILES = ("coldstart", "slim_rootfs")


def test_the_commands_are_found():
    assert {"coldstart", "bench_concurrency", "report", "simulate", "fleet.dynamics"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help_and_names_itself(command):
    python = "python3" if command == "slim_rootfs" else "python"  # it runs under the build stage's python3
    ways = [(["-m", f"scripts.{command}"], f"{python} -m scripts.{command}")]
    if command in AS_FILES:
        ways.append(([f"scripts/{command}.py"], f"{python} scripts/{command}.py"))
    for args, prog in ways:
        proc = subprocess.run([sys.executable, *args, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"usage: {prog}"), proc.stdout[:200]


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "slim_rootfs"])
def test_every_flag_has_a_help_line(command, monkeypatch):
    import argparse
    import importlib

    parsers: list[argparse.ArgumentParser] = []

    def capture(self, *args, **kwargs):
        parsers.append(self)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(SystemExit):
        importlib.import_module(f"scripts.{command}").main([])
    (parser,) = parsers
    for action in parser._actions:
        assert action.help, f"{command}: {action.option_strings or action.dest} has no help"


def test_coldstart_docker_modes_need_only_the_standard_library():
    """-I -S: no site-packages at all, as on a host with only Docker and python3."""
    proc = subprocess.run([sys.executable, "-I", "-S", "scripts/coldstart.py", "--mode", "docker", "--image",
                           "no-such-image-here"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not built: no-such-image-here:latest" in proc.stderr, proc.stderr
    for mode in ("pull", "openfaas"):
        proc = subprocess.run([sys.executable, "-I", "-S", "scripts/coldstart.py", "--mode", mode, "--help"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-I", "-S", "scripts/coldstart.py", "--mode", "openfaas", "--gateway",
                           "http://127.0.0.1:9", "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith("coldstart: ") and "Traceback" not in proc.stderr


def test_observability_loss_is_the_median_of_paired_rounds_and_the_worst_case_charges_the_log_driver():
    from scripts.bench_observability import PAIRS, log_driver, summary

    (f_on, f_off), (s_on, s_off) = PAIRS.values()
    # Round by round the on server answers 3% fewer, whatever the round's own speed.
    runs = {f_off: [1000.0, 2000.0, 1500.0], f_on: [970.0, 1940.0, 1455.0],
            s_off: [800.0, 900.0, 1000.0], s_on: [800.0, 900.0, 1000.0]}
    result = summary(runs, draws=200)
    assert result["paired_loss"]["function"] == pytest.approx(0.03)
    assert result["paired_loss_interval"]["function"] == pytest.approx([0.03, 0.03])
    assert result["paired_loss"]["server"] == pytest.approx(0.0)
    # 100 µs per request in the container, 10 µs of the log driver per line: 1 - 0.97 * 100 / 110.
    result["cpu_us_per_request"] = {f_on: 100.0, s_on: 100.0}
    worst = log_driver(result, {"function": 0.01, "server": 0.0}, {f_on: 1000, s_on: 1000})
    assert worst["function"]["us_per_line"] == pytest.approx(10.0)
    assert worst["function"]["share"] == pytest.approx(0.1)
    assert worst["function"]["loss"] == pytest.approx(1 - 0.97 * 100 / 110)
    assert worst["server"]["loss"] == pytest.approx(0.0)


def test_release_dry_run_lists_every_step_and_runs_none(dataset, capsys):
    from scripts import release

    model = {p.name: p.stat().st_mtime_ns for p in (ROOT / "model").iterdir()}
    assert release.main(["--data", str(dataset), "--tag", "v9", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == ["retrain", "verify", "build", "deploy", "wait"]
    assert f"--retrain --data {dataset}" in out and "TAG=v9" in out
    assert {p.name: p.stat().st_mtime_ns for p in (ROOT / "model").iterdir()} == model
    assert release.main(["--data", "no-such.csv", "--tag", "v9", "--dry-run"]) == 2
    assert "no-such.csv: no such file" in capsys.readouterr().err


def test_switch_counts_failures_and_old_answers_once_the_old_replica_left():
    from harness import openfaas

    a = openfaas.Answer
    answers = [a(0.0, 0.01, 200, "v1"), a(1.0, 1.01, 200, "v2"), a(1.1, 1.12, 200, "v1"), a(1.2, 1.21, 500, None),
               a(2.0, 2.01, 200, "v2"), a(2.1, 2.11, 200, "v1")]
    s = openfaas.switch(answers, started=0.5, new_version="v2", settled=1.9)
    assert s["failed"] == 1 and s["statuses"] == {"200": 5, "500": 1} and s["requests"] == 6
    assert s["first_new_s"] == pytest.approx(0.51) and s["last_old_s"] == pytest.approx(1.61)
    assert s["after_settled"] == 2 and s["old_after_settled"] == 1


def test_the_rollout_section_shows_every_figure_it_was_given(tmp_path):
    """docs/deploy.md's measurements on the real gateway, rendered from the three commands' JSON."""
    from harness import figures

    switch = {"requests": 12000, "failed": 0, "first_new_s": 1.5, "last_old_s": 7.25, "settled_s": 7.5,
              "old_after_settled": 0}
    result = {"date": "2026-12-01", "machine": "2 cores", "clients": 4, "update": switch,
              "rollback": {**switch, "last_old_s": None}, "pulled_bytes": {"model": 41_000, "code": 120_000},
              "image_bytes": {"B": 47_000_000, "C": 47_100_000}, "layers": {"B": 3, "C": 3}}
    path = {"throughput_rps": 1450.0, "p50_ms": 5.3, "p99_ms": 11.0, "platform_cpu_ms_per_request": 0.9}
    gateway = {"median": {"gateway_c8": path, "direct_c8": {**path, "throughput_rps": 4584.0, "p50_ms": 1.67}},
               "added_by_gateway": {"c8": {"p50_ms": 3.63, "throughput_ratio": 0.316}},
               "at_rest": {"health_check": "none", "core_share": 0.0019, "seconds": 30}}
    steps = {"created": 0.12, "started": 0.31, "healthy": 0.58, "ready": 0.62}
    cold = {"scale_from_zero": {"median_s": 0.71, "breakdown_median_s": steps},
            "deploy": {"median_s": 0.93, "breakdown_median_s": {**steps, "ready": None}},
            "docker_run": {"median_s": 0.45, "runs": [{}, {}, {}]}}
    assert figures.rollout(tmp_path).startswith("Not measured yet")
    for name, value in (("rollout", result), ("gateway", gateway), ("coldstart-openfaas", cold)):
        (tmp_path / f"{name}.json").write_text(json.dumps(value))
    text = figures.rollout(tmp_path)
    assert "| update | 12,000 | 0 | 1.50 s | 7.25 s | 7.50 s (0 old answers after) |" in text
    assert "| rollback | 12,000 | 0 | 1.50 s | none |" in text
    assert "| new model | 41.0 kB | 47.0 MB (3 layers) |" in text
    assert "spent 0.19% of one core over 30 s without requests (its cgroup; health check: none)" in text
    assert "| gateway, 8 connections | 1,450 | 5.30 ms | 11.00 ms | 0.900 ms |" in text
    assert "adds 3.63 ms at p50 with 8 connection(s) and keeps 32% of the direct throughput" in text
    assert "medians of 3 interleaved runs" in text
    assert "| scaled to zero, woken by one request | 0.71 s | 0.12 s | 0.31 s | 0.58 s | 0.62 s |" in text
    assert "| deploy, then one request | 0.93 s | 0.12 s | 0.31 s | 0.58 s | – |" in text
    assert "| `docker run` of the same image | 0.45 s |" in text


def test_the_openfaas_summary_gives_each_way_its_median_and_each_step_of_its_breakdown():
    steps = [{"created": 0.1, "started": 0.3, "healthy": 0.6, "ready": 0.7, "first_200": 0.8},
             {"created": 0.2, "started": 0.4, "healthy": None, "ready": 0.9, "first_200": 1.0}]
    runs = {"scale_from_zero": [{"seconds": 0.8, "breakdown_s": steps[0]}, {"seconds": 1.0, "breakdown_s": steps[1]}],
            "docker_run": [{"seconds": 0.4}, {"seconds": 0.6}]}
    out = gateway_lib.summary(runs)
    assert out["scale_from_zero"]["median_s"] == 0.9 and out["docker_run"]["median_s"] == 0.5
    assert out["scale_from_zero"]["breakdown_median_s"] == {"created": 0.15, "started": 0.35, "healthy": 0.6,
                                                           "ready": 0.8, "first_200": 0.9}
    assert "breakdown_median_s" not in out["docker_run"] and out["docker_run"]["runs"] == runs["docker_run"]


def test_the_health_checks_trade_off_shows_every_row_a_check_less_one_included():
    from harness import tables

    wake = {"seconds": 0.8, "breakdown_s": {}}
    result = {"docker_run_s": {"median": 0.4}, "rows": [
        {"probe": "c", "interval": "250ms", "scale_from_zero_s": 0.85, "healthy_s": 0.78, "refused": 0,
         "replica_pct": 4.71, "daemons_pct": 3.2, "runs": [wake] * 5},
        {"probe": "none", "interval": "never", "scale_from_zero_s": 0.55, "healthy_s": None, "refused": 3,
         "replica_pct": 0.17, "daemons_pct": 0.4, "runs": [wake] * 2},
        {"probe": "none", "interval": "never", "scale_from_zero_s": None, "healthy_s": None, "refused": 2,
         "replica_pct": 0.1, "daemons_pct": 0.3, "runs": []}]}
    lines = tables.probe_costs(result)
    assert lines[2] == "| c | 250ms | 0.85 s | +0.45 s | 0.78 s | 0 of 5 | 4.71 | 3.20 |"
    assert lines[3] == "| none | never | 0.55 s | +0.15 s | – | 3 of 5 | 0.17 | 0.40 |"
    assert lines[4] == "| none | never | – | – | – | 2 of 2 | 0.10 | 0.30 |"
