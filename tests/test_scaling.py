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

from scripts.fleet import cost, engine, inputs, policies, prices, traffic
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
    result = engine.simulate(traffic.steady(0.0), policy, toy_replica(), horizon)
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


def test_a_batch_takes_its_rows_time():
    replica = toy_replica()  # 1e-5 s per row of a batch: 10 ms for 1,000 rows
    result = engine.simulate(traffic.batches(1.0), policies.POLICIES["fixed"], replica, 600)
    assert result.p50_ms == pytest.approx(10.0, abs=0.5)  # the toy adds no overhead to a request


def test_overload_past_the_timeout_is_dropped_not_answered_late():
    """Where the platform holds the queue, overload waits out the timeout and is dropped; where the
    pods hold it, they refuse past max_inflight long before (the waits stay short)."""
    held = copy.deepcopy(policies.POLICIES["fixed"])
    held.params["platform_queues"] = True
    result = engine.simulate(traffic.steady(1000.0), held, toy_replica(5.0), 120)
    assert result.dropped > 0 and result.refused == 0 and result.max_ms <= (engine.TIMEOUT + 1) * 1000
    pods = engine.simulate(traffic.steady(1000.0), policies.POLICIES["fixed"], toy_replica(5.0), 120)
    assert pods.dropped == 0 and pods.refused > 0 and pods.max_ms < 1000


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


def test_per_request_bills_use_the_published_unit_prices_and_every_front_door():
    f = prices.f
    egress = 10**6 * f("response_kb") / 1e6 * f("egress_gb")  # a million answers of 1 KB
    lam = cost.bills(_usage(policy="lambda", billed_request_ms=10**6, init_seconds=2.0), "managed serverless")
    duration = (1000 + 2) * 1769 / 1024
    assert lam["lambda"] == pytest.approx(0.20 + duration * 0.0000166667 + egress, rel=1e-6)
    assert lam["lambda arm64"] == pytest.approx(0.20 + duration * 0.0000133334 + egress, rel=1e-6)
    assert lam["lambda+http"] - lam["lambda"] == pytest.approx(1.00)  # API Gateway HTTP, $1.00 a million
    assert lam["lambda+rest"] - lam["lambda"] == pytest.approx(3.50)  # REST, $3.50 a million
    run = cost.bills(_usage(policy="cloud_run", billed_busy_seconds=100.0), "managed serverless")
    assert run["cloud_run"] == pytest.approx(0.40 + 100 * (0.000024 + 0.5 * 0.0000025) + egress)
    # instance-based: the instance's whole life (one replica-hour here), no request fee
    assert run["cloud_run instance-based"] == pytest.approx(3600 * (0.000018 + 0.5 * 0.000002) + egress)
    kept = cost.bills(_usage(policy="cloud_run_min"), "managed serverless")
    assert set(kept) == {"cloud_run instance-based"}


def test_provisioned_concurrency_bills_the_environments_held_and_a_lower_duration():
    f, gb = prices.f, 1769 / 1024
    pc = cost.bills(_usage(policy="lambda_pc", provisioned=3, billed_request_ms=10**6), "managed serverless")
    egress = 10**6 * f("response_kb") / 1e6 * f("egress_gb")
    assert pc["lambda"] == pytest.approx(0.20 + egress + gb * (3 * 3600 * 0.0000041667 + 1000 * 0.0000097222))
    assert pc["lambda arm64"] == pc["lambda"]  # provisioned concurrency on arm64 priced as on x86


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
    assert held - reused == pytest.approx(0.096 * share * 1)
    platform = cost.bills(_usage(policy="knative", peak_replicas=0, replica_seconds=0.0), "self-hosted serverless")
    assert platform["cluster"] > 0 and platform["fargate"] > 0  # the platform's own pods, always


def test_fargate_rounds_every_platform_pod_on_its_own():
    """OpenFaaS's five pods each become a task: about $0.064/h, against $0.029/h for one task of
    their summed requests; Knative's queue-proxy makes a replica 1.025 vCPU, a 2 vCPU task."""
    summed = cost.fargate_hour(sum(c for _, c, _ in prices.PODS["openfaas"]), 1.0)
    assert summed == pytest.approx(0.0293, abs=1e-3)
    assert cost.pods_hour("openfaas") == pytest.approx(0.064, abs=1e-3)
    assert cost.fargate_task(*cost.replica_pod("knative", 1.0, 0.0625)) == (2.0, 4.0)
    assert cost.fargate_task(*cost.replica_pod("hpa_cpu", 1.0, 0.0625)) == (1.0, 2.0)


def test_the_whole_bill_counts_fixed_costs_licences_pulls_and_egress():
    f = prices.f
    server = cost.bills(_usage(policy="hpa_cpu"), "server")
    assert server["fargate"] - server["fargate, fixed shared"] == pytest.approx(cost.fixed_hour())
    assert cost.fixed_hour() == pytest.approx(0.10 + 0.0225 + 0.045 + cost.pods_hour("cluster"))
    ce, pro = (cost.bills(_usage(policy=name), "self-hosted serverless") for name in ("openfaas_ce", "openfaas_pro"))
    assert ce["fargate"] == pytest.approx(pro["fargate"])  # CE in production needs the same paid edition
    knative = cost.bills(_usage(policy="knative"), "self-hosted serverless")
    licence = f("openfaas_licence_month") / cost.HOURS_PER_MONTH
    assert pro["fargate"] - knative["fargate"] == pytest.approx(
        licence + cost.pods_hour("openfaas") - cost.pods_hour("knative")
        + cost.fargate_hour(1.0, 0.0625) - cost.fargate_hour(1.025, 0.0625))
    pulled = cost.bills(_usage(policy="hpa_cpu", starts=10, image_gb=0.5), "server")
    assert pulled["fargate"] - server["fargate"] == pytest.approx(10 * 0.5 * f("nat_gb"))
    # one new connection per request: 10**6 in an hour is 278/s, 11.1 LCUs; kept connections bill the bytes
    assert server["fargate"] - server["fargate, keep-alive"] == pytest.approx(
        (10**6 / 3600 / 25 - 2 * 10**6 * f("response_kb") / 1e6) * f("alb_lcu_hour"))


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


# -- caps: the deploy files', fleets sized to the load, Lambda's quota ---------------------

def test_the_caps_in_the_tables_equal_the_deploy_files():
    labels = yaml.safe_load((ROOT / "stack.yml").read_text())["functions"]["device-price"]["labels"]
    for name in ("openfaas_ce", "openfaas_pro"):  # Pro reads the same label as CE
        assert policies.POLICIES[name].max_replicas == int(labels["com.openfaas.scale.max"])
    notes = knative_service()["spec"]["template"]["metadata"]["annotations"]
    assert policies.POLICIES["knative"].max_replicas == int(notes[KNATIVE + "max-scale"])
    docs = {d["kind"]: d for d in yaml.safe_load_all((ROOT / "deploy/k8s/server.yaml").read_text())}
    assert policies.POLICIES["hpa_cpu"].max_replicas == docs["HorizontalPodAutoscaler"]["spec"]["maxReplicas"]
    assert policies.POLICIES["lambda"].max_replicas == prices.f("lambda_quota") == 1000


def test_lambda_is_priced_at_the_memory_size_its_template_deploys():
    text = (ROOT / "deploy" / "lambda" / "template.yaml").read_text()
    (size,) = [line.split(":")[1].strip() for line in text.splitlines() if line.strip().startswith("MemorySize:")]
    assert int(size) == prices.f("lambda_memory_mb")
    # and measured at it: the cold-start command's default (docs/bench/coldstart-lambda.json)
    from scripts import coldstart

    assert coldstart.parser().get_default("memory_mb") == prices.f("lambda_memory_mb")


def test_a_binding_cap_is_reported_as_the_replicas_the_load_needs_priced_at_that_size():
    from scripts.fleet import grid, tables

    replica = toy_replica(2.0)  # about 500 req/s a replica: 10,000 req/s needs about 29 at 70%
    row = grid.steady(traffic.steady(10000.0), "hpa_cpu", replica, 60, 10000.0)
    assert row["cap_binds"] and row["cap"] == 10 and row["peak_replicas"] > 20
    assert math.isfinite(cost.per_million(row, "fargate")) and row["lost"] <= 0.01 * row["requests"]
    assert f"needs {row['peak_replicas']} replicas" in tables.cap_note(row)
    small = grid.steady(traffic.steady(100.0), "hpa_cpu", replica, 60, 100.0)
    assert not small["cap_binds"] and tables.cap_note(small) == ""


def test_openfaas_ces_cap_cannot_be_raised_and_is_not_priced_when_it_binds():
    from scripts.fleet import grid

    row = grid.steady(traffic.steady(5000.0), "openfaas_ce", toy_replica(2.0), 60, 5000.0)
    assert row["cap_binds"] and row["hard_cap"] and math.isinf(cost.per_million(row, "fargate"))


def test_lambda_answers_429_past_its_quota_instead_of_queueing():
    lam = copy.deepcopy(policies.POLICIES["lambda"])
    lam.max_replicas = 5  # the quota left to this function
    fleet = engine.Fleet(traffic.steady(0.0), lam, toy_replica(50.0), image_on_nodes=True)
    fleet.serve(np.full(20, 1.0), 2.0)  # 20 at once: 5 environments, 15 refused at once
    assert len(fleet.running) == 5 and fleet.refused == 15 and len(fleet.latencies) == 5
    assert max(fleet.latencies) < 1.0  # the five answered waited for their own start, not a queue


def test_lambdas_scaling_rate_limits_new_environments_per_10_seconds():
    lam = copy.deepcopy(policies.POLICIES["lambda"])
    lam.params["scaling_per_10s"] = 100
    fleet = engine.Fleet(traffic.steady(0.0), lam, toy_replica(50.0), image_on_nodes=True)
    fleet.serve(np.full(300, 1.0), 2.0)
    assert len(fleet.running) == 100 and fleet.refused == 200
    fleet.serve(np.full(300, 6.0), 7.0)  # 5 s later half the bucket is back: 50 more
    assert len(fleet.running) == 150


def test_provisioned_environments_are_never_reclaimed():
    pc = copy.deepcopy(policies.POLICIES["lambda_pc"])
    pc.min_replicas = 3
    result = engine.simulate(traffic.steady(0.001), pc, toy_replica(), 7200, image_on_nodes=True)
    assert result.replica_seconds == pytest.approx(3 * 7200, rel=0.01) and result.provisioned == 3
    assert result.cold_waits == 0


# -- each platform's own cold start, from the measurement files -----------------------------

def _bench(tmp_path, openfaas: dict | None = None, lambda_: dict | None = None):
    import json

    if openfaas is not None:
        (tmp_path / "coldstart-openfaas.json").write_text(json.dumps(openfaas))
    if lambda_ is not None:
        (tmp_path / "coldstart-lambda.json").write_text(json.dumps(lambda_))
    return tmp_path


SFZ = {"scale_from_zero": {"median_s": 1.7, "runs": [1.6, 1.7, 1.8], "breakdown_median_s": {
    "created": 0.1, "started": 0.4, "healthy": 1.4, "ready": 1.5, "first_200": 1.7}},
    "deploy": {"median_s": 1.8}, "docker_run": {"median_s": 0.5}}
LAMBDA = {"lambda": {"median_s": 0.6, "runs": [0.5, 0.6, 0.7], "init_ms_median": 120.0},
          "function": {"median_s": 0.3}, "invocation": {"duration_ms_median": 3.2, "max_memory_mb": 90.0}}


def test_cold_starts_come_from_the_platform_measurements_when_they_exist(tmp_path):
    from scripts.fleet import coldstarts

    bench = _bench(tmp_path, SFZ, LAMBDA)
    assert coldstarts.fallbacks(bench) == []
    slim = toy_replica()
    slim.kind = "fn"
    coldstarts.fill(slim, bench)
    assert list(slim.cold["node"]) == [1.6, 1.7, 1.8]  # the measured scale from zero itself
    assert list(slim.cold["lambda"]) == [0.5, 0.6, 0.7] and slim.lambda_duration_s == pytest.approx(0.0032)
    assert slim.cold["fargate"] == pytest.approx(2.0 + 1.2 + prices.f("fargate_provision_s"))  # pull + share
    tf = toy_replica()
    tf.kind, tf.cold_process = "tf", np.array([9.9])
    coldstarts.fill(tf, bench)
    assert tf.cold["node"] == pytest.approx(0.5 + 1.2)  # its own docker run + the platform's share
    assert tf.cold["lambda"] == pytest.approx(10.0 + 9.9 + 0.3)  # past the 10 s INIT limit: restarted
    assert tf.lambda_duration_s is None  # the emulator measured the slim image's invocations


def test_until_the_measurements_land_the_fallbacks_are_named(tmp_path):
    from scripts.fleet import coldstarts

    older = {"openfaas": {"runs": {}}, "docker": {"runs": {}}}  # the format before scale_from_zero
    bench = _bench(tmp_path, older)
    named = coldstarts.fallbacks(bench)
    assert len(named) == 2 and "scale_from_zero" in named[0] and "coldstart-lambda.json" in named[1]
    slim = toy_replica()
    slim.kind = "fn"
    coldstarts.fill(slim, bench)
    assert slim.sources["cold_node"].startswith("FALLBACK") and slim.sources["cold_lambda"].startswith("FALLBACK")
    assert list(slim.cold["node"]) == list(slim.cold_docker)


def test_every_figure_names_its_source_and_when_it_was_read():
    for name, fig in prices.FIGURES.items():
        assert fig.source and fig.read and fig.what, name


# -- the decision: ties, bands, crossovers as ranges, the report ---------------------------

def _row(policy: str, rate: float, dollars_per_million: float, bill: str, p99: float = 5.0) -> dict:
    return {"policy": policy, "image": "fn", "mean_rate": rate, "lost": 0, "requests": 10**6, "answered": 10**6,
            "p99_ms": p99, "bills": {bill: dollars_per_million}, "cap_binds": False, "hard_cap": False}


def _table(server_at_100: float) -> list[dict]:
    """Lambda $0.30/M throughout; the server $50, $0.31 (a tie) and `server_at_100` per million."""
    return [_row("lambda", rate, 0.30, "lambda") for rate in (1.0, 10.0, 100.0)] + [
        _row("hpa_cpu", 1.0, 50.0, "fargate"), _row("hpa_cpu", 10.0, 0.31, "fargate"),
        _row("hpa_cpu", 100.0, server_at_100, "fargate")]


def test_the_decision_calls_ties_and_draws_bands_with_their_crossings(monkeypatch):
    from scripts.fleet import decide, grid

    monkeypatch.setattr(grid, "RATES", (1.0, 10.0, 100.0))
    table = decide.winners(_table(0.10), "tflite", 1000.0)
    lam, server = "AWS Lambda", "a server Deployment on EKS"
    assert [r["tied"] for r in table] == [[lam], [lam, server], [server]]
    found = decide.bands(table)
    assert [b["kind"] for b in found] == [lam, f"a tie: {lam} or {server}", server]
    assert found[0]["to"] is None  # at 10 req/s the server is still dearer: the costs cross later
    assert 10.0 < found[1]["to"] < 100.0  # where the server's cost falls to Lambda's, on log-log axes
    slow = decide.winners(_table(0.10), "tflite", 1.0)  # a goal nothing meets
    assert [b["kind"] for b in decide.bands(slow)] == ["none meets the goal"]


def test_a_crossover_is_given_as_its_range_over_the_sweep(monkeypatch):
    from scripts.fleet import decide, grid

    monkeypatch.setattr(grid, "RATES", (1.0, 10.0, 100.0))
    moved = [r for r in _table(0.05) if r["policy"] == "hpa_cpu"]  # the server cheaper in a rerun
    results = {"rates": _table(0.10), "sweep:cheaper server": moved}
    assert set(decide.scenarios(results)) == {"baseline", "cheaper server", *decide.BILL_MOVES}
    found = decide.sensitivity(results, "tflite", 1000.0)
    tie = "a tie: AWS Lambda or a server Deployment on EKS"
    assert found[("AWS Lambda", tie)]["low"] is None  # no crossing between simulated rates there
    edge = found[(tie, "a server Deployment on EKS")]
    assert edge["low"] < edge["baseline"] == edge["high"] and edge["low_by"] == "cheaper server"
    assert edge["moved_by"] == []  # by less than 1.5x: not named as a mover


def test_the_report_renders_bands_sweep_and_sources_from_a_small_grid(monkeypatch, tmp_path):
    from scripts.fleet import grid, report

    monkeypatch.setattr(grid, "RATES", (0.1, 100.0))
    monkeypatch.setattr(grid, "GAPS", (60.0,))
    monkeypatch.setattr(grid, "STEPS", (50.0,))
    monkeypatch.setattr(grid, "YEAR_RATE", 1.0)
    monkeypatch.setattr(grid, "SHAPE_RATE", 1.0)
    monkeypatch.setattr(traffic, "SHAPES", {"bursty": traffic.bursty})
    monkeypatch.setattr(grid, "SWEEP", {"cold starts x2": ({"init_scale": 2.0}, grid.GRID, (0.1,))})
    replicas = {kind: toy_replica(2.0 if kind != "tf" else 60.0) for kind in ("fn", "server", "tf")}
    for kind, r in replicas.items():
        r.kind = kind
    results = grid.run(replicas, lambda items, desc: items, span_scale=0.05)
    assert len(results["rates"]) == 2 * len(grid.GRID) * 2 and len(results["sweep:cold starts x2"]) == 2 * len(grid.GRID)
    data = grid.document(results, {}, replicas, span_scale=0.05)
    data["platform_coldstarts"] = {"openfaas": SFZ, "lambda": LAMBDA}  # as the measurements will write them
    text = report.markdown(data)
    assert "Scale from zero through the real gateway: median 1.70 s (created 0.10 s" in text
    assert "Lambda under the runtime interface emulator: cold start median 0.60 s (its INIT 120 ms" in text
    for heading in ("## The answer, in bands", "## The bands under each moved input", "## Every policy at every rate",
                    "## Start-up: a step in load", "## Traffic shapes", "## A year of diurnal traffic",
                    "## What went in"):
        assert heading in text
    assert text.count("- **slim TFLite image, p99 within") == len(report.decide.GOALS_MS)
    for name, figure in prices.FIGURES.items():
        assert f"| {name} |" in text and figure.source in text and figure.read in text
    assert "slim TFLite image:" in report.readme_line(data) and "TensorFlow image:" in report.readme_line(data)
    assert {p.name for p in report.write(data, tmp_path)} == {"scaling.md", "scaling-cost.png", "scaling-p99.png",
                                                             "scaling-cold.png"}


def test_no_file_of_the_fleet_library_is_over_300_lines():
    for path in [*(ROOT / "scripts" / "fleet").glob("*.py"), ROOT / "scripts" / "simulate.py"]:
        assert len(path.read_text().splitlines()) <= 300, path.name


def test_deploy_mds_which_engine_section_is_the_simulations_answer():
    """docs/deploy.md's "which engine, when" is rendered from the committed simulation.json, and
    names the managed platforms as the answer does."""
    from harness import readme
    from scripts.fleet import report

    data = report.load()
    start, end = readme.markers("engines")
    text = report.DEPLOY.read_text()
    section = text[text.index(start) + len(start):text.index(end)].strip()
    assert section == report.engines(data).strip(), "stale: run python -m scripts.simulate --render"
    for name in ("AWS Lambda", "Cloud Run"):
        assert name in text


def test_the_inputs_name_each_step_of_the_measured_wake_and_skip_one_it_did_not_have():
    """The function runs no health check, so its wake has no `healthy` step (None in the JSON)."""
    from scripts.fleet import tables

    steps = {**SFZ["scale_from_zero"]["breakdown_median_s"], "healthy": None}
    data = {"inputs": {}, "figures": {}, "platform_coldstarts": {"openfaas": {**SFZ, "scale_from_zero": {
        **SFZ["scale_from_zero"], "breakdown_median_s": steps}}}}
    text = "\n".join(tables.inputs(data))
    assert ("median 1.70 s (created 0.10 s, started 0.40 s, ready 1.50 s, first_200 1.70 s); "
            "`docker run` 0.50 s in the same run.") in text
