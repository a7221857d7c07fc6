"""The operations of the API, each declared once: method, path, the Routes method that answers
it (fn/api/routes.py), its schemas (fn/api/openapi.py) and what it may refuse. The router and
the OpenAPI document are both made from OPERATIONS, so a path cannot be served without being
documented, or the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fn.api import errors
from fn.api.errors import BadRequest, NotFound, TooLarge
from fn.record.problems import ClientError, ValidationError


@dataclass(frozen=True)
class Operation:
    method: str  # GET (HEAD follows it) or POST
    path: str  # {name} matches one path segment
    answer: str  # the Routes method: (request, path parameters) -> Response
    summary: str
    response: str  # the 200 answer's schema (fn/api/openapi.py)
    request: str | None = None  # the body's schema
    refuses: tuple[type[ClientError], ...] = ()  # besides 401 and 429, which any non-probe may get
    unready: bool = False  # 503 while draining
    probe: bool = False  # a platform's health check: no token, not counted

    @property
    def protocol(self) -> bool:
        return errors.is_protocol(self.path)


def _op(method: str, path: str, answer: str, summary: str, response: str, **more: Any) -> Operation:
    return Operation(method, path, answer, summary, response, **more)


MODEL = "/v2/models/{model_name}"
VERSION = MODEL + "/versions/{model_version}"
V1 = "/v1/models/{model_name}"

PREDICT = (BadRequest, TooLarge, ValidationError)
OPERATIONS: tuple[Operation, ...] = (
    _op("GET", "/", "root", "The model's metadata and input schema (a browser asking for text/html gets the page)",
        "Metadata"),
    _op("POST", "/", "predict", "Predict one record, a batch {\"instances\": [...]} or a CSV file, with the native API",
        "Prediction", request="Native", refuses=PREDICT),
    _op("POST", "/predict", "predict", "Predict, as POST /", "Prediction", request="Native", refuses=PREDICT),
    _op("GET", "/metadata", "metadata", "The model's metadata and input schema", "Metadata"),
    _op("GET", "/model", "model_card", "The model card: scores, price ranges' coverage, provenance, known limits",
        "ModelCard"),
    _op("GET", "/openapi.json", "openapi", "This document", "OpenAPI"),
    _op("GET", "/_/health", "health", "Liveness, as OpenFaaS probes it", "Health", probe=True, unready=True),
    _op("GET", "/_/ready", "health", "Readiness, as OpenFaaS probes it", "Health", probe=True, unready=True),
    _op("GET", "/healthz", "health", "Liveness, as Kubernetes probes it", "Health", probe=True, unready=True),
    _op("GET", "/v2/health/live", "live", "Open Inference Protocol v2 liveness", "Health", probe=True),
    _op("GET", "/v2/health/ready", "ready", "Open Inference Protocol v2 readiness", "Health", probe=True,
        unready=True),
    _op("GET", "/v2", "v2_server", "Open Inference Protocol v2 server metadata", "V2ServerMetadata"),
    *(op for base in (MODEL, VERSION) for op in (
        _op("GET", base, "v2_model", "Open Inference Protocol v2 model metadata", "V2ModelMetadata",
            refuses=(NotFound,)),
        _op("GET", base + "/ready", "v2_ready", "Open Inference Protocol v2 model readiness", "V2ModelReady",
            refuses=(NotFound,), unready=True),
        _op("POST", base + "/infer", "infer", "Open Inference Protocol v2: one input tensor per column",
            "V2InferenceResponse", request="V2InferenceRequest", refuses=(NotFound, *PREDICT)))),
    _op("GET", V1, "v1_status", "KServe v1 / TensorFlow Serving model status", "V1Status", refuses=(NotFound,),
        unready=True),
    _op("POST", V1 + ":predict", "v1_predict", "KServe v1 / TensorFlow Serving predict: {\"instances\": [records]}",
        "V1Response", request="V1Request", refuses=(NotFound, *PREDICT)),
)
PROBES = tuple(sorted({op.path for op in OPERATIONS if op.probe}))
