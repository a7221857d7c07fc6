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

from scripts.fleet import aggregate, engine, inputs, policies, traffic
from tests.conftest import ROOT

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
    result = engine.simulate(traffic.steady(1000.0), policies.POLICIES["fixed"], toy_replica(5.0), 120)
    assert result.dropped > 0 and result.max_ms <= (engine.TIMEOUT + 1) * 1000


def test_the_report_answers_from_the_simulations(monkeypatch):
    """make simulate's write-up, over a small grid of toy replicas: every section is there, every
    policy and image appears, and the answer names a rate."""
    from scripts.fleet import report

    monkeypatch.setattr(report, "RATES", (0.01, 1.0, 100.0))
    monkeypatch.setattr(report, "GAPS", (60.0,))
    monkeypatch.setattr(report, "YEAR", traffic.DAY)
    monkeypatch.setattr(traffic, "SHAPES", {"bursty": traffic.bursty})
    monkeypatch.setattr(report, "SHAPE_RATE", 1.0)
    replicas = {kind: toy_replica(2.0 if kind != "tf" else 60.0) for kind in ("fn", "server", "tf")}
    for kind, r in replicas.items():
        r.kind = kind
    results = report.run_grid(replicas, report.Prices(), lambda items, desc: items)
    assert len(results["rates"]) == 2 * len(policies.POLICIES) * 3
    text = report.markdown({"date": "2026-11-28T00:00:00+00:00", "prices": "test prices",
                            "inputs": report.summarise_inputs(replicas), "results": results, "validation": {}})
    for heading in ("## The answer", "### Serverless is the better choice when", "## Traffic shapes",
                    "## A year of diurnal traffic", "## What went in"):
        assert heading in text
    assert "scaling to zero pays below" in text
    for policy in policies.POLICIES.values():
        assert policy.label in text


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
