"""Every price and published figure the bills read, each with its source and the date it was read
(docs/scaling.md prints them as its table of inputs). The machine is offline: a figure was read
from a stored copy of the vendor's page (the workplace's search tool), from a third party's copy of
it, as this project had it before, or is an assumption, and says which.
"""

from __future__ import annotations

from dataclasses import dataclass

EARLIER = "2026-11-28, this project's earlier cost.py"
ISSUE = "2026-12-01, as issue 23 states it"
STORED = "2026-12-01, the stored copy of the vendor's page"
VENDOR = "2026-12-07, the stored copy of the vendor's page"
THIRD = "2026-12-07, a third party's copy of the vendor's page (the vendor's own not stored)"
NOTES = "2026-12-07, ../shared/NOTES.md \"Published figures to anchor on\""
ASSUMED = "an assumption: no published figure found; swept in the sensitivity table"


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    what: str
    source: str
    read: str


def _f(value: float, unit: str, what: str, source: str, read: str) -> Figure:
    return Figure(value, unit, what, source, read)


LAMBDA_PRICING = "aws.amazon.com/lambda/pricing"
FIGURES: dict[str, Figure] = {
    # Fargate and the pods it bills
    "fargate_vcpu_hour": _f(0.04048, "$ per vCPU-hour", "AWS Fargate, Linux/x86, us-east-1, on demand",
                            "aws.amazon.com/fargate/pricing", EARLIER),
    "fargate_gb_hour": _f(0.004445, "$ per GB-hour", "AWS Fargate, Linux/x86, us-east-1, on demand",
                          "aws.amazon.com/fargate/pricing", EARLIER),
    "fargate_pod_overhead_mb": _f(256, "MB", "memory EKS on Fargate adds to each pod's requests before rounding "
                                  "it, on its own, up to a task size (1 vCPU needs >= 2 GB)",
                                  "docs.aws.amazon.com/eks/latest/userguide/fargate-pod-configuration.html", ISSUE),
    "fargate_provision_s": _f(30.0, "s", "EKS on Fargate: a pod is a new micro-VM with an empty image cache; "
                              "provisioning before the image pull starts: the low end of the 30-60 s public reports "
                              "give (the pull and start are this project's measured fresh-node figures)",
                              "issue 35's review; kube.fm 'Faster EKS node and pod startup' (2026-02-17)", THIRD),
    # the cluster and its fixed costs
    "eks_cluster_hour": _f(0.10, "$ per hour", "Amazon EKS control plane, standard support, per cluster",
                           "aws.amazon.com/eks/pricing ($73 a month in aws/agent-toolkit-for-aws eks.md)", THIRD),
    "alb_hour": _f(0.0225, "$ per hour", "Application Load Balancer, us-east-1", "aws.amazon.com/elasticloadbalancing/"
                   "pricing (api-evangelist transcription, read 2026-09-20)", THIRD),
    "alb_lcu_hour": _f(0.008, "$ per LCU-hour", "ALB capacity unit: 25 new connections/s (the binding dimension "
                       "with one connection per request), 1 GB/h, 1,000 rule evaluations/s",
                       "aws.amazon.com/elasticloadbalancing/pricing (api-evangelist transcription)", THIRD),
    "nat_hour": _f(0.045, "$ per hour", "NAT gateway, us-east-1: Fargate pods in private subnets pull images "
                   "through it", "aws.amazon.com/vpc/pricing (api-evangelist transcription, read 2026-09-20)", THIRD),
    "nat_gb": _f(0.045, "$ per GB", "NAT gateway data processed (every Fargate pod start pulls the image)",
                 "aws.amazon.com/vpc/pricing (api-evangelist transcription)", THIRD),
    "egress_gb": _f(0.09, "$ per GB", "data transfer out to the internet, first 10 TB a month (every row pays it)",
                    "aws.amazon.com/ec2/pricing/on-demand (chime/terraform-aws-alternat README)", THIRD),
    "response_kb": _f(1.0, "KB", "bytes out per answer, headers included (a prediction's JSON is a few hundred "
                      "bytes)", "this project's choice", ASSUMED),
    "openfaas_licence_month": _f(1000.0, "$ per month", "a paid OpenFaaS edition (Standard or Pro, which the "
                                 "scale-to-zero policy needs); CE's EULA limits commercial production use, so "
                                 "the CE rows pay it too", "openfaas.com/pricing (not stored: the figure is unverified)",
                                 ASSUMED),
    "node_hour": _f(0.096, "$ per hour", "a cluster node: EC2 m5.large (2 vCPU, 8 GiB), us-east-1, on demand",
                    "aws.amazon.com/ec2/pricing/on-demand", EARLIER),
    "node_vcpu": _f(2, "vCPU", "the node's CPU", "aws.amazon.com/ec2/instance-types/m5", EARLIER),
    "node_gb": _f(8, "GiB", "the node's memory", "aws.amazon.com/ec2/instance-types/m5", EARLIER),
    # Lambda
    "lambda_request": _f(0.20e-6, "$ per request", "AWS Lambda requests: $0.20 per million", LAMBDA_PRICING, ISSUE),
    "lambda_gb_second": _f(0.0000166667, "$ per GB-second", "AWS Lambda duration, x86; billed per 1 ms; the INIT "
                           "phase billed since 2025-08-01", LAMBDA_PRICING, ISSUE),
    "lambda_arm_gb_second": _f(0.0000133334, "$ per GB-second", "AWS Lambda duration, arm64 (this service's speed "
                               "on arm64 is not measured: the same duration is assumed)", LAMBDA_PRICING, NOTES),
    "lambda_pc_gb_second": _f(0.0000041667, "$ per GB-second", "Lambda provisioned concurrency, x86, per GB-second "
                              "provisioned, whether used or not", LAMBDA_PRICING + " (awsnegotiations.com copy)", THIRD),
    "lambda_pc_duration_gb_second": _f(0.0000097222, "$ per GB-second", "Lambda duration on a provisioned "
                                       "environment, x86", LAMBDA_PRICING + " (awsnegotiations.com copy)", THIRD),
    "lambda_memory_mb": _f(1769, "MB", "Lambda memory at which a function has one vCPU (the core this service was "
                           "measured on)", "docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html", EARLIER),
    "lambda_quota": _f(1000, "concurrent executions", "Lambda's concurrency quota per account and region by default, "
                       "shared by every function in it; past it, and past the scaling rate, a request gets 429",
                       "docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html", VENDOR),
    "lambda_scaling_per_10s": _f(1000, "environments per 10 s", "Lambda's concurrency scaling rate, per function, "
                                 "refilled continuously", "docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html",
                                 VENDOR),
    "lambda_init_limit_s": _f(10.0, "s", "Lambda's INIT phase limit: an init that takes longer is restarted within the "
                              "first invocation", "docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html",
                              ISSUE),
    "lambda_platform_s": _f(0.23, "s", "Lambda's own part of a cold start, used only until docs/bench/coldstart-"
                            "lambda.json exists: the top of the published container-image Python init (125-230 ms)",
                            "maxday/lambda-perf data/last.json (2026-08-22)", NOTES),
    "lambda_keep_warm_s": _f(600.0, "s", "how long Lambda keeps an idle environment (AWS does not document it)",
                             "this project's choice", ASSUMED),
    "apigw_http_request": _f(1.00e-6, "$ per request", "API Gateway HTTP API, first 300 million a month",
                             "docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-"
                             "integration/cost-optimization.html", VENDOR),
    "apigw_rest_request": _f(3.50e-6, "$ per request", "API Gateway REST API, first 333 million a month",
                             "docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-"
                             "integration/cost-optimization.html", VENDOR),
    "function_url_request": _f(0.0, "$ per request", "a Lambda function URL: no charge beyond Lambda's own",
                               LAMBDA_PRICING, NOTES),
    # Cloud Run
    "cloud_run_vcpu_second": _f(0.000024, "$ per vCPU-second", "Cloud Run request-based billing, Tier 1, while an "
                                "instance serves (rounded up to 100 ms)", "cloud.google.com/run/pricing", STORED),
    "cloud_run_gib_second": _f(0.0000025, "$ per GiB-second", "Cloud Run request-based billing, Tier 1",
                               "cloud.google.com/run/pricing", STORED),
    "cloud_run_request": _f(0.40e-6, "$ per request", "Cloud Run request-based billing: $0.40 per million",
                            "cloud.google.com/run/pricing", STORED),
    "cloud_run_instance_vcpu_second": _f(0.000018, "$ per vCPU-second", "Cloud Run instance-based billing: the "
                                         "instance's whole life, no request fee", "cloud.google.com/run/pricing", NOTES),
    "cloud_run_instance_gib_second": _f(0.000002, "$ per GiB-second", "Cloud Run instance-based billing, memory",
                                        "cloud.google.com/run/pricing (not in the stored copy)", ASSUMED),
    "cloud_run_memory_gib": _f(0.5, "GiB", "Cloud Run instance memory (1 vCPU allows 512 MiB to 4 GiB)",
                               "cloud.google.com/run/docs/configuring/services/cpu", EARLIER),
    "cloud_run_platform_s": _f(1.0, "s", "Cloud Run's own part of a cold start, added to this process's measured "
                               "start (Google publishes no figure)", "this project's choice", ASSUMED),
}
# Each platform's own pods (their CPU and memory requests): Fargate rounds each pod on its own.
PODS: dict[str, tuple[tuple[str, float, float], ...]] = {
    "openfaas": (("gateway + faas-netes", 0.2, 240 / 1024), ("queue-worker", 0.05, 120 / 1024),
                 ("prometheus", 0.1, 0.5), ("nats", 0.1, 120 / 1024), ("alertmanager or autoscaler", 0.05, 25 / 1024)),
    "knative": (("activator", 0.3, 60 / 1024), ("autoscaler", 0.1, 100 / 1024), ("controller", 0.1, 100 / 1024),
                ("webhook", 0.1, 100 / 1024), ("kourier gateway", 0.2, 200 / 1024),
                ("kourier controller", 0.2, 200 / 1024)),
    "cluster": (("coredns", 0.1, 70 / 1024), ("coredns", 0.1, 70 / 1024)),
}
PODS_SOURCE = ("openfaas/faas-netes chart/openfaas/values.yaml; knative/serving config/core/deployments and "
               "net-kourier; EKS CoreDNS (2 replicas): ../shared/NOTES.md, read 2026-12-01")
KNATIVE_SIDECAR_CPU = 0.025  # queue-proxy's CPU request in each Knative pod (NOTES.md): 1.025 vCPU rounds to 2


def f(name: str) -> float:
    return FIGURES[name].value
