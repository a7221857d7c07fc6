"""Scaling: the fleet simulation's invariants, and the deploy files held to its policy table
(stack.yml's labels, the server's HorizontalPodAutoscaler, the Knative Service, validated offline
against Knative Serving's own schema)."""

from __future__ import annotations

import copy
import math

import jsonschema
import numpy as np
import pytest
import yaml

from scripts.fleet import aggregate, cost, engine, inputs, policies, traffic
from tests.helpers import ROOT

SCHEMAS = ROOT.parent / "shared" / "schemas"
KNATIVE = "autoscaling.knative.dev/"


def toy_replica(service_ms: float = 2.0) -> inputs.Replica:
    """A replica with exponential service times, its cold starts fixed: the invariants do not
    depend on the measured figures (the simulation's own tests run before any benchmark)."""
    rng = np.random.default_rng(7)
    service = rng.exponential(service_ms / 1000, 5000)
    return inputs.Replica("toy", service, service.copy(), 0.0, 1e-5, 0.1, 1.0, np.array([0.5]), np.array([2.0]))


def test_littles_law_holds_within_5_percent():
    """L (requests in the system, sampled at random instants) = λ W."""
    fleet = engine.Fleet(traffic.steady(300.0), policies.POLICIES["fixed"], toy_replica(), seed=3, keep=True)
    horizon = 600.0
    fleet.run(horizon)
    arrivals = np.array([a for a, _ in fleet.kept])
    departures = arrivals + np.array([r for _, r in fleet.kept])
    instants = np.random.default_rng(1).uniform(60, horizon - 60, 20000)
    in_system = np.searchsorted(np.sort(arrivals), instants) - np.searchsorted(np.sort(departures), instants)
    rate = len(arrivals) / horizon
    mean_response = float((departures - arrivals).mean())
    assert in_system.mean() == pytest.approx(rate * mean_response, rel=0.05)


def test_the_same_seed_gives_the_same_result_and_another_seed_does_not():
    runs = [engine.simulate(traffic.bursty(20.0), policies.POLICIES["knative"], toy_replica(), 1800, seed)
            for seed in (5, 5, 6)]
    assert runs[0].as_dict() == runs[1].as_dict()
    assert runs[0].as_dict() != runs[2].as_dict()


@pytest.mark.parametrize("name", list(policies.POLICIES))
def test_no_traffic_costs_only_the_minimum_replicas(name):
    policy = policies.POLICIES[name]
    horizon = 3600.0
    for simulate in (engine.simulate, aggregate.simulate):
        result = simulate(traffic.steady(0.0), policy, toy_replica(), horizon)
        assert result.requests == 0
        assert result.replica_seconds == pytest.approx(policy.min_replicas * horizon)


def test_scale_from_zero_makes_the_first_request_wait_a_cold_start():
    """Knative from zero: the first request waits for the pull (a node without the image), a
    request after the grace period for a start from the node's copy."""
    replica = toy_replica()
    arrivals = traffic.Traffic("two", 0.0, lambda t: 0.0)
    fleet = engine.Fleet(arrivals, policies.POLICIES["knative"], replica, seed=1)
    fleet.serve(np.array([1.0]), 2.0)
    assert fleet.cold_waits == 1 and fleet.latencies[0] == pytest.approx(2.0, abs=0.05)
    fleet.stop(100.0, len(fleet.running))
    fleet.serve(np.array([200.0]), 201.0)
    assert fleet.cold_waits == 2 and fleet.latencies[1] == pytest.approx(0.5, abs=0.05)


def test_erlang_c_is_the_utilisation_for_one_server_and_falls_with_more():
    assert aggregate.erlang_c(1, 0.5) == pytest.approx(0.5)
    assert aggregate.erlang_c(4, 2.0) == pytest.approx(0.1739, abs=1e-4)  # a textbook value
    assert aggregate.erlang_c(4, 4.5) == 1.0


def test_a_batch_takes_its_rows_time_and_the_aggregate_model_refuses_batches():
    replica = toy_replica()  # 1e-5 s per row of a batch: 10 ms for 1,000 rows
    result = engine.simulate(traffic.batches(1.0), policies.POLICIES["fixed"], replica, 600)
    assert result.p50_ms == pytest.approx(10.0, abs=0.5)  # the toy adds no overhead to a request
    with pytest.raises(ValueError):
        aggregate.simulate(traffic.batches(1.0), policies.POLICIES["fixed"], replica, 600)


def test_overload_past_the_timeout_is_dropped_not_answered_late():
    """Where the platform holds the queue, overload waits out the timeout and is dropped; where the
    pods hold it, they refuse past max_inflight long before (the waits stay short)."""
    held = copy.deepcopy(policies.POLICIES["fixed"])
    held.params["platform_queues"] = True
    result = engine.simulate(traffic.steady(1000.0), held, toy_replica(5.0), 120)
    assert result.dropped > 0 and result.refused == 0 and result.max_ms <= (engine.TIMEOUT + 1) * 1000
    pods = engine.simulate(traffic.steady(1000.0), policies.POLICIES["fixed"], toy_replica(5.0), 120)
    assert pods.dropped == 0 and pods.refused > 0 and pods.max_ms < 1000


def test_the_report_answers_from_the_simulations(monkeypatch):
    """make simulate's write-up, over a small grid of toy replicas: every section is there, every
    policy and image appears, and the answer names the cheapest policy and where the line moves."""
    from scripts.fleet import report

    monkeypatch.setattr(report, "RATES", (0.01, 1.0, 100.0))
    monkeypatch.setattr(report, "GAPS", (60.0,))
    monkeypatch.setattr(report, "STEPS", (50.0,))
    monkeypatch.setattr(report, "YEAR_RATE", 1.0)
    monkeypatch.setattr(traffic, "SHAPES", {"bursty": traffic.bursty})
    monkeypatch.setattr(report, "SHAPE_RATE", 1.0)
    replicas = {kind: toy_replica(2.0 if kind != "tf" else 60.0) for kind in ("fn", "server", "tf")}
    for kind, r in replicas.items():
        r.kind = kind
    results = report.run_grid(replicas, lambda items, desc: items)
    assert len(results["rates"]) == 2 * len(policies.POLICIES) * 3
    text = report.markdown(report.document(results, {}, replicas))
    for heading in ("## The answer", "### Serverless is the better choice when", "## On your own cluster",
                    "## Start-up: a step in load", "## Traffic shapes", "## A year of diurnal traffic",
                    "## What went in"):
        assert heading in text
    for policy in policies.POLICIES.values():
        assert policy.label in text
    for name, figure in cost.FIGURES.items():  # every price and figure, with its source and date
        assert f"| {name} |" in text and figure.source in text and figure.read in text


# -- the deploy files and the policy table ------------------------------------------------

def knative_service() -> dict:
    return yaml.safe_load((ROOT / "deploy/knative/service.yaml").read_text())


def knative_schema() -> dict:
    crd = yaml.safe_load((SCHEMAS / "knative-serving-v1-service-crd.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return version["schema"]["openAPIV3Schema"]


def test_the_knative_service_is_valid_against_knatives_schema():
    schema, service = knative_schema(), knative_service()
    jsonschema.validate(service, schema)
    broken = copy.deepcopy(service)
    broken["spec"]["template"]["spec"]["containerConcurrency"] = "lots"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_the_knative_service_runs_the_function_as_the_policy_says():
    policy = policies.POLICIES["knative"]
    template = knative_service()["spec"]["template"]
    notes, spec = template["metadata"]["annotations"], template["spec"]
    assert notes[KNATIVE + "metric"] == policy.params["metric"]
    assert notes[KNATIVE + "target"] == str(policy.params["target"])
    assert float(notes[KNATIVE + "target-utilization-percentage"]) == policy.params["utilization"] * 100
    assert notes[KNATIVE + "window"] == f"{policy.params['stable_window']:g}s"
    assert float(notes[KNATIVE + "panic-window-percentage"]) == policy.params["panic_window_fraction"] * 100
    assert float(notes[KNATIVE + "panic-threshold-percentage"]) == policy.params["panic_threshold"] * 100
    assert int(notes[KNATIVE + "min-scale"]) == policy.min_replicas == 0  # scale to zero
    assert int(notes[KNATIVE + "max-scale"]) == policy.max_replicas
    assert spec["containerConcurrency"] == policy.params["container_concurrency"]
    (container,) = spec["containers"]
    assert container["ports"] == [{"name": "http1", "containerPort": 8080}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/_/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/_/health"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["runAsNonRoot"] is True
    assert isinstance(security["runAsUser"], int) and security["runAsUser"] > 0
    assert {"requests", "limits"} <= set(container["resources"])
    stack = yaml.safe_load((ROOT / "stack.yml").read_text())["functions"]["device-price"]
    assert container["resources"]["requests"] == stack["requests"]


def test_stack_yml_and_the_hpa_equal_the_policy_table():
    ce = policies.POLICIES["openfaas_ce"]
    labels = yaml.safe_load((ROOT / "stack.yml").read_text())["functions"]["device-price"]["labels"]
    assert int(labels["com.openfaas.scale.min"]) == ce.min_replicas
    assert int(labels["com.openfaas.scale.max"]) == ce.max_replicas
    hpa_policy = policies.POLICIES["hpa_cpu"]
    docs = {d["kind"]: d for d in yaml.safe_load_all((ROOT / "deploy/k8s/server.yaml").read_text())}
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (hpa_policy.min_replicas, hpa_policy.max_replicas)
    (metric,) = hpa["metrics"]
    assert metric["resource"]["target"]["averageUtilization"] == round(hpa_policy.params["cpu_target"] * 100)
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == hpa_policy.params["scale_down_stabilization"]
    assert math.isclose(hpa_policy.tick, 15.0)
    server = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    # The HPA's 70% is of the CPU request: the request is the core the simulation's utilisation is a
    # share of, and the size it bills.
    assert _cores(server["cpu"]) == hpa_policy.params["cpu_request"] == inputs.replica("server").vcpu


def _cores(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def test_every_deploy_file_requests_the_core_it_is_billed_for_and_limits_inflight_alike():
    stack = yaml.safe_load((ROOT / "stack.yml").read_text())["functions"]["device-price"]
    template = knative_service()["spec"]["template"]["spec"]["containers"][0]
    docs = {d["kind"]: d for d in yaml.safe_load_all((ROOT / "deploy/k8s/server.yaml").read_text())}
    server = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert _cores(stack["requests"]["cpu"]) == _cores(template["resources"]["requests"]["cpu"]) \
        == _cores(server["resources"]["requests"]["cpu"]) == policies.CPU_REQUEST
    env = {e["name"]: e["value"] for e in template["env"]} | {e["name"]: e["value"] for e in server["env"]}
    assert int(stack["environment"]["max_inflight"]) == int(env["max_inflight"]) == policies.MAX_INFLIGHT


def test_stack_yml_states_openfaas_pros_policy():
    pro = policies.POLICIES["openfaas_pro"]
    labels = yaml.safe_load((ROOT / "stack.yml").read_text())["functions"]["device-price"]["labels"]
    assert labels["com.openfaas.scale.type"] == "capacity"
    assert int(labels["com.openfaas.scale.target"]) == pro.params["target"]
    assert float(labels["com.openfaas.scale.target-proportion"]) == pro.params["target_proportion"]
    assert labels["com.openfaas.scale.zero"] == "true"
    assert labels["com.openfaas.scale.zero-duration"] == f"{pro.params['zero_after_seconds'] / 60:g}m"
    ce = policies.POLICIES["openfaas_ce"]
    assert int(labels["com.openfaas.scale.factor"]) == round(ce.params["step_fraction"] * 100)


# -- reachable targets, 429 past max_inflight -----------------------------------------------

def old_knative() -> policies.Policy:
    """The Knative Service as it shipped before: no concurrency limit, Knative's target 100 x 70%."""
    old = copy.deepcopy(policies.POLICIES["knative"])
    old.params.update(container_concurrency=0, target=100)
    return old


@pytest.mark.parametrize("name", list(policies.POLICIES))
def test_every_policys_per_replica_target_is_reachable_below_max_inflight(name):
    replica = inputs.replica("fn")
    assert policies.POLICIES[name].reachable(replica.capacity)


def test_a_target_above_max_inflight_is_unreachable():
    assert not old_knative().reachable(inputs.replica("fn").capacity)
    two_cores = copy.deepcopy(policies.POLICIES["hpa_cpu"])
    two_cores.params["cpu_request"] = 2.0  # 70% of two cores: more than the one worker can use
    assert not two_cores.reachable(1000.0)


def test_a_pod_refuses_past_max_inflight_and_the_old_knative_service_never_scales():
    """Above one pod's capacity, the old Service stays at one pod (it never sees 70 in flight: the
    pod refuses past 64) and answers 429; the shipped one scales out and refuses nothing."""
    replica = toy_replica(2.0)  # 500 req/s a pod
    load = traffic.steady(1500.0)
    old = engine.simulate(load, old_knative(), replica, 120, warmup=60, image_on_nodes=True)
    assert old.peak_replicas == 1 and old.refused > 0.3 * old.requests
    new = engine.simulate(load, policies.POLICIES["knative"], replica, 120, warmup=60, image_on_nodes=True)
    assert new.peak_replicas >= 4 and new.refused == 0 and new.dropped == 0


def test_a_fixed_replica_holds_max_inflight_and_refuses_the_rest():
    fixed = copy.deepcopy(policies.POLICIES["fixed"])
    fixed.min_replicas = fixed.max_replicas = 1
    fleet = engine.Fleet(traffic.steady(0.0), fixed, toy_replica(2.0), keep=True)
    fleet.serve(np.full(100, 1.0), 2.0)  # 100 at once onto one pod
    assert fleet.refused == 100 - policies.MAX_INFLIGHT and len(fleet.latencies) == policies.MAX_INFLIGHT


@pytest.mark.parametrize("name", [n for n, p in policies.POLICIES.items() if p.max_replicas > 2])
def test_every_scaling_policy_scales_out_under_load_without_losing_requests(name):
    replica = toy_replica(2.0)
    result = engine.simulate(traffic.steady(1200.0), policies.POLICIES[name], replica, 300, warmup=300,
                             image_on_nodes=True)
    assert result.peak_replicas >= 3
    assert result.lost <= 0.01 * result.requests


def test_openfaas_ce_alerts_on_the_total_rate_every_repeat_interval():
    """At 10 req/s (2 a replica once scaled) CE's alert keeps firing on the function's total and
    climbs to its cap, one replica a notification; at 4 req/s it never fires."""
    ce = policies.POLICIES["openfaas_ce"]
    fleet = engine.Fleet(traffic.steady(10.0), ce, toy_replica(), timeline=True, image_on_nodes=True)
    fleet.run(300)
    counts = {t: n for t, n, _ in fleet.timeline}
    first = min(t for t, n in counts.items() if n > 1)
    assert ce.params["evaluation_interval"] <= first <= 2 * ce.params["evaluation_interval"] + ce.params["group_wait"]
    second = min(t for t, n in counts.items() if n > 2)
    assert second - first == pytest.approx(ce.params["repeat_interval"], abs=ce.tick)
    assert counts[300.0] == ce.max_replicas
    quiet = engine.simulate(traffic.steady(4.0), ce, toy_replica(), 300)
    assert quiet.peak_replicas == 1


# -- the artefacts: warm start, utilisation, cold waits ------------------------------------

def test_a_steady_run_starts_warm_and_counts_no_start_up():
    knative = policies.POLICIES["knative"]
    warm = engine.simulate(traffic.steady(50.0), knative, toy_replica(), 600, warmup=300, image_on_nodes=True)
    assert warm.cold_waits == 0 and warm.init_seconds == 0
    assert warm.requests == pytest.approx(50 * 600, rel=0.05)
    cold = engine.simulate(traffic.steady(50.0), knative, toy_replica(), 600)
    assert cold.cold_waits > 0  # from zero on a node without the image: the pull, counted


def test_every_request_that_waited_for_a_starting_replica_is_a_cold_wait():
    """From zero, five requests within the start of one replica: all five waited for it."""
    fleet = engine.Fleet(traffic.steady(0.0), policies.POLICIES["knative"], toy_replica(), image_on_nodes=True)
    fleet.serve(np.array([1.0, 1.01, 1.02, 1.03, 1.04]), 2.0)
    assert fleet.cold_waits == 5


def test_observed_utilisation_never_exceeds_one():
    fleet = engine.Fleet(traffic.steady(0.0), policies.POLICIES["hpa_cpu"], toy_replica(50.0))
    fleet.serve(np.linspace(0.0, 1.0, 400), 1.0)  # 20 s of work in a second on two replicas
    seen = fleet.observe(1.0)
    assert 0.99 <= seen.utilization <= 1.0


# -- bills ----------------------------------------------------------------------------------

def test_fargate_rounds_a_pod_up_to_a_task_size():
    assert cost.fargate_task(1.0, 64 / 1024) == (1.0, 2.0)  # 1 vCPU needs at least 2 GB
    assert cost.fargate_task(0.25, 0.2) == (0.25, 0.5)
    assert cost.fargate_task(0.25, 0.3) == (0.25, 1.0)  # 0.3 GB + 256 MB
    assert cost.fargate_task(0.6, 0.36) == (1.0, 2.0)
    assert cost.fargate_task(1.0, 2.0) == (1.0, 3.0)
    with pytest.raises(ValueError):
        cost.fargate_task(32.0, 1.0)
    assert cost.fargate_hour(1.0, 0.0625) == pytest.approx(0.04048 + 2 * 0.004445)


def _usage(**kw) -> cost.Result:
    base = dict(model="t", traffic="steady", mean_rate=1.0, policy="fixed", image="fn", horizon_s=3600.0,
                requests=10**6, answered=10**6, dropped=0, cold_waits=0, p50_ms=1.0, p95_ms=1.0, p99_ms=1.0,
                max_ms=1.0, replica_seconds=3600.0, gb_seconds=0.0, mean_replicas=1.0, memory_gb=0.0625)
    return cost.Result(**(base | kw))


def test_per_request_bills_use_the_published_unit_prices():
    lam = cost.bills(_usage(policy="lambda", billed_request_ms=10**6, init_seconds=2.0), "managed serverless")
    assert lam["lambda"] == pytest.approx(0.20 + (1000 + 2) * 1.769 / 1.024 * 0.0000166667, rel=1e-3)
    run = cost.bills(_usage(policy="cloud_run", billed_busy_seconds=100.0), "managed serverless")
    assert run["cloud_run"] == pytest.approx(0.40 + 100 * (0.000024 + 0.5 * 0.0000025))


def test_cloud_run_rounds_each_busy_period_up_to_100_ms():
    run = policies.POLICIES["cloud_run"]
    fleet = engine.Fleet(traffic.steady(0.0), run, toy_replica(), image_on_nodes=True)
    fleet.add(0.0, warm=True)
    fleet.serve(np.array([1.0, 1.01, 5.0]), 6.0)  # two busy periods: [1.0, ~1.012], [5.0, ~5.002]
    for rid in list(fleet.periods):
        fleet._close_period(rid)
    assert fleet.billed_busy_seconds == pytest.approx(0.2)


def test_a_cluster_bills_the_peak_unless_another_workload_reuses_the_rest():
    usage = _usage(policy="hpa_cpu", peak_replicas=2, replica_seconds=3600.0)  # one replica on average
    share = cost.node_share(1.0, 0.0625)
    held = cost.bills(usage, "server")["cluster"]
    reused = cost.bills(usage, "server", reuse=1.0)["cluster"]
    assert held == pytest.approx(0.096 * share * 2)
    assert reused == pytest.approx(0.096 * share * 1)
    platform = cost.bills(_usage(policy="knative", peak_replicas=0, replica_seconds=0.0), "self-hosted serverless")
    assert platform["cluster"] > 0 and platform["fargate"] > 0  # the platform's own pods, always


def test_rows_where_the_cap_binds_are_marked_and_not_priced():
    from scripts.fleet import report

    fixed = policies.POLICIES["fixed"]
    replica = toy_replica(2.0)  # two replicas answer 1,000 req/s at most
    row = report._steady(traffic.steady(5000.0), fixed, replica, 60, 5000.0, 0.0)
    assert row["cap_bound"] and math.isinf(row["cost_per_million"])
    assert not report.qualifies(row, math.inf)
    bound = report._steady(traffic.steady(900.0), fixed, replica, 120, 900.0, 0.0)
    assert not bound["cap_bound"] and math.isfinite(bound["cost_per_million"])


def test_the_openfaas_gateways_hop_adds_its_latency_and_its_cpu_is_billed():
    """The measured hop (docs/bench/gateway.json's shape): the median answer moves by the hop's
    median, and its CPU per request is paid beside the platform's pods."""
    pro = policies.POLICIES["openfaas_pro"]
    plain = engine.simulate(traffic.steady(20.0), pro, toy_replica(), 600, warmup=60, image_on_nodes=True)
    hopped = engine.simulate(traffic.steady(20.0), pro, toy_replica(), 600, warmup=60, image_on_nodes=True,
                             hop=0.0035, hop_p99=0.0186, hop_cpu=0.0026)
    assert 3.5 <= hopped.p50_ms - plain.p50_ms <= 5.0  # a sum's median: at least the hop's
    assert hopped.p99_ms > plain.p99_ms + 10
    assert hopped.platform_cpu_seconds == pytest.approx(0.0026 * hopped.answered)
    extra = cost.bills(hopped, pro.kind)["fargate"] - cost.bills(plain, pro.kind)["fargate"]
    assert extra == pytest.approx(0.0026 * hopped.answered * cost.f("fargate_vcpu_hour") / 3600, rel=0.05)


def test_the_dynamics_check_reads_replica_changes_from_a_timeline():
    from scripts.fleet import dynamics

    series = [{"t": 0.0, "n": 1}, {"t": 1.0, "n": 1}, {"t": 2.0, "n": 2}, {"t": 3.0, "n": 2}, {"t": 4.0, "n": 1}]
    assert dynamics.changes(series, "n") == [(0.0, 1), (2.0, 2), (4.0, 1)]
    simulated = dynamics.simulated(20.0, 120.0, 60.0, 10.0)  # the simulated side of the step: 1 to CE's cap
    counts = [s["held"] for s in simulated]
    assert counts[0] == 1 and max(counts) == policies.POLICIES["openfaas_ce"].max_replicas and counts[-1] == 1
