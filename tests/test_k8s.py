"""The Kubernetes manifests for the server-based side, checked offline against a recent
Kubernetes schema and against what the server actually does."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest
import yaml

from fn.api.operations import PROBES as HEALTH_PATHS
from fn.server import settings
from tests.helpers import ROOT

VERSION = kubernetes_validate.latest_version()


@pytest.fixture(scope="module")
def resources() -> dict[str, dict]:
    docs = list(yaml.safe_load_all((ROOT / "deploy/k8s/server.yaml").read_text()))
    return {d["kind"]: d for d in docs}


def test_schema_valid_strict(resources):
    assert set(resources) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    for resource in resources.values():
        kubernetes_validate.validate(resource, VERSION, strict=True)


def test_validator_catches_a_mistake(resources):
    broken = copy.deepcopy(resources["Deployment"])
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # a typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_restrictive_security_and_probes_match_the_server(resources):
    pod = resources["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"] and sc["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"]["httpGet"]["path"] in HEALTH_PATHS
    assert container["livenessProbe"]["httpGet"]["path"] in HEALTH_PATHS
    # the startup probe asks readiness from the start at the kubelet's shortest period, for a minute
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == container["readinessProbe"]["httpGet"]["path"]
    assert startup["initialDelaySeconds"] == 0 and startup["periodSeconds"] == 1
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60
    assert container["ports"][0]["containerPort"] == 8000
    assert {"requests", "limits"} <= set(container["resources"])


def test_grace_period_covers_the_drain(resources):
    pod = resources["Deployment"]["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    config = settings.from_env(env, "baseline")
    assert pod["terminationGracePeriodSeconds"] > config.drain_delay + config.write_timeout
    assert resources["Service"]["spec"]["selector"] == resources["Deployment"]["spec"]["selector"]["matchLabels"]
    target = resources["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert target["name"] == resources["Deployment"]["metadata"]["name"]


def test_the_token_secret_is_optional_and_mounted_where_the_server_looks(resources):
    from fn.server import settings

    pod = resources["Deployment"]["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "token"]
    assert volume["secret"]["optional"] is True  # no Secret: the server runs without a token
    (mount,) = pod["containers"][0]["volumeMounts"]
    token_file = settings.defaults("baseline").token_file
    assert mount["readOnly"] and str(token_file.parent) == mount["mountPath"]
    assert token_file.name == volume["secret"]["secretName"]  # the key's file name


def test_updates_keep_a_ready_replica_on_every_engine(resources):
    """The promise tests/test_openfaas.py checks on swarm, on paper for the others: a new replica
    takes traffic only once ready, and the old one goes only then."""
    deployment = resources["Deployment"]["spec"]
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert deployment["strategy"]["rollingUpdate"]["maxSurge"] >= 1
    assert deployment["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/_/ready"
    knative = yaml.safe_load((ROOT / "deploy/knative/service.yaml").read_text())["spec"]
    readiness = knative["template"]["spec"]["containers"][0]["readinessProbe"]
    assert readiness["httpGet"]["path"] == "/_/ready"
    assert readiness["periodSeconds"] == 0  # queue-proxy's 50 ms probing until ready
    assert knative["traffic"] == [{"latestRevision": True, "percent": 100}]
    checks = [line.strip() for line in (ROOT / "Dockerfile.server").read_text().splitlines() if line.startswith("  CMD ")]
    assert checks == ['CMD ["/usr/local/bin/health", "8000"]']
    # the function has none: it listens before Python starts instead (launcher/listen_first.c)
    assert "\nHEALTHCHECK NONE\n" in (ROOT / "Dockerfile.fn").read_text()
