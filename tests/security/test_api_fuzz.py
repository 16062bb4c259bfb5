"""API fuzzing (issue 13): schemathesis generates requests for every operation of the schema served at
``/api/schema/`` and each response is checked: never a 5xx, the status code documented, the body matching
its documented schema, the content type the documented one, and input outside the schema refused with a
4xx. The run is bounded (``MAX_EXAMPLES`` per operation and mode), derandomized and without Hypothesis's
example database, so CI sees the same requests every time.

The fuzzer signs in as the owner of a real group (compliance staff for the review queue and sanctions;
see tests/security/fuzz_world.py) and most cases use the real group's code, message numbers and member
ids, so the views' logic is reached and not only the 403/404 wall; a second run as the anonymous must get
403 everywhere (400 for text that cannot be text, refused before anyone is asked who they are; a JSON 404
for an address no route takes).
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.fuzz_world import build_world, session_for, wsgi_app

MAX_EXAMPLES = 15
ANONYMOUS_EXAMPLES = 5

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure's first example is reported as is
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)

STAFF_PATHS = ("/api/review/", "/api/sanctions/")
# Operations whose input names something the world does not have, so 404 is every answer: the owner has
# no invitation to answer.
ONLY_UNKNOWN_IDS = {"invitations_respond"}


def _operations() -> dict[str, bool]:
    """The operations of the generated schema, known at collection (no request, no database): whether
    each takes any input that could be made invalid (parameters or a body)."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return {
        operation["operationId"]: bool(operation.get("parameters") or operation.get("requestBody"))
        for item in paths.values()
        for operation in item.values()
    }


OPERATIONS = _operations()
OPERATION_IDS = sorted(OPERATIONS)
SIGNED_IN_RUNS = [
    pytest.param(operation_id, mode, id=f"{operation_id}-{label}")
    for operation_id in OPERATION_IDS
    for mode, label in ((GenerationMode.POSITIVE, "valid"), (GenerationMode.NEGATIVE, "invalid"))
    if mode is GenerationMode.POSITIVE or OPERATIONS[operation_id]  # nothing to make invalid otherwise
]
_served: dict[str, object] = {}


def served_schema():
    """The schema as ``/api/schema/`` serves it, loaded once (a request: inside a test)."""
    if "schema" not in _served:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app())
        # The session cookie is the test's to send (see fuzz_world.session_for), not a parameter to fuzz.
        schema.config.generation.update(with_security_parameters=False)
        _served["schema"] = schema
    return _served["schema"]


def operation(schema, operation_id: str):
    for result in schema.get_all_operations():
        op = result.ok()
        if op.definition.raw.get("operationId") == operation_id:
            return op
    raise LookupError(operation_id)


def cases(op, mode: GenerationMode, valid_path: dict[str, list], bodies: list[dict] = ()):
    """Cases whose path names the world's group, message and members two times in three; the rest are
    generated (unknown codes, numbers and ids, which must be 404). With valid input, some bodies name the
    world's objects too."""
    names = [p.name for p in op.path_parameters]
    generated = op.as_strategy(generation_mode=mode)
    choices = itertools.product(*(valid_path[name] for name in names))
    combos = [dict(zip(names, values, strict=True)) for values in choices] if names else [{}]
    valid = st.sampled_from(combos).flatmap(
        lambda path: op.as_strategy(generation_mode=mode, path_parameters=path)
    )
    strategies = [valid, valid, generated] if names else [generated]
    if bodies and mode is GenerationMode.POSITIVE:
        strategies.append(
            st.sampled_from([(path, body) for path in combos for body in bodies]).flatmap(
                lambda pair: op.as_strategy(generation_mode=mode, path_parameters=pair[0], body=pair[1])
            )
        )
    return st.one_of(*strategies)


def _run(op, mode: GenerationMode, session, valid_path: dict[str, list], bodies: list[dict]) -> None:
    cookies, headers = session

    @FUZZ_SETTINGS
    @given(case=cases(op, mode, valid_path, bodies))
    def fuzz(case):
        response = case.call(headers=headers, cookies=cookies)
        seen[response.status_code] += 1
        assert "not_authenticated" not in response.text, "the session was not accepted"
        if os.environ.get("FUZZ_TRACE"):  # FUZZ_TRACE=1 pytest -s: every request's outcome
            print(op.label, mode.value, response.status_code, response.text[:160])
        case.validate_response(response, checks=CHECKS, headers=headers)

    seen: Counter[int] = Counter()
    fuzz()
    # Valid input on the world's paths reached the view's own logic, not only its 404 (invalid input may
    # well be all 404: a mutated path names nothing).
    if mode is GenerationMode.POSITIVE and op.definition.raw["operationId"] not in ONLY_UNKNOWN_IDS:
        assert set(seen) - {404}, seen


def _resolves(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True


@pytest.fixture
def world(db):
    return build_world()


def test_the_fuzzer_covers_every_operation_of_the_served_schema(db):
    served = served_schema()
    ids = sorted(op.ok().definition.raw["operationId"] for op in served.get_all_operations())
    assert ids == OPERATION_IDS
    assert len(ids) >= 30


@pytest.mark.parametrize(("operation_id", "mode"), SIGNED_IN_RUNS)
def test_fuzz_signed_in(world, operation_id, mode):
    op = operation(served_schema(), operation_id)
    user = world.staff if op.path.startswith(STAFF_PATHS) else world.owner
    _run(op, mode, session_for(user), world.path_values(operation_id), world.bodies(operation_id))


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_fuzz_anonymous_is_refused_everywhere(world, operation_id):
    op = operation(served_schema(), operation_id)
    cookies, headers = session_for(None)

    @settings(FUZZ_SETTINGS, max_examples=ANONYMOUS_EXAMPLES)
    @given(case=cases(op, GenerationMode.POSITIVE, world.path_values(operation_id)))
    def fuzz(case):
        response = case.call(headers=headers, cookies=cookies)
        case.validate_response(response, checks=CHECKS, headers=headers)
        body = json.loads(response.text)
        if _resolves(case.formatted_path):
            # Text that cannot be text is refused before anyone is asked who they are.
            assert (response.status_code, body["code"]) in ((403, "not_authenticated"), (400, "bad_input")), (
                response.text
            )
        else:  # a path no route takes (a negative number): Django's 404, in JSON
            assert (response.status_code, body["code"]) == (404, "not_found"), response.text

    fuzz()


# --- what the fuzzer found: each with its focused test -------------------------------------------------


def _signed_in(user):
    from django.test import Client

    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_an_address_under_the_api_that_no_route_takes_is_a_json_404(world):
    """It was Django's HTML page (a malformed group code, a negative number, a typo in the path)."""
    for path in (
        "/api/groups/not-a-code/messages/",
        "/api/groups/ABCDEFGH/messages/-1/recall/",
        "/api/nope/",
    ):
        response = _signed_in(world.owner).get(path)
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "detail": "未找到。"}
    assert _signed_in(world.owner).get("/no-such-page/")["Content-Type"].startswith("text/html")


def test_a_404_raised_in_a_view_carries_its_code(world):
    """A view's Http404 used to reach the client as ``{"detail": ...}`` without the code every other
    refusal has."""
    response = _signed_in(world.owner).get("/api/groups/ABCDEFGH/messages/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "未找到。"}


def test_the_review_queue_refuses_a_filter_it_cannot_read(world):
    """An empty or unreadable filter was silently ignored (``category=`` listed everything)."""
    client = _signed_in(world.staff)
    for query in ({"category": ""}, {"kind": ""}, {"overdue": "maybe"}, {"category": "nonsense"}):
        response = client.get("/api/review/items/", query)
        assert response.status_code == 400, query
        assert response.json()["code"] == "filter_invalid"
    assert client.get("/api/review/items/", {"overdue": "true", "kind": "case"}).status_code == 200


def test_the_schema_documents_lists_that_are_not_paginated_as_lists(world):
    """Search and my invitations answer a list; the schema said a paginated object."""
    paths = _signed_in(None).get("/api/schema/?format=json").json()["paths"]
    for path in ("/api/groups/{code}/messages/search/", "/api/invitations/"):
        body = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert body["type"] == "array", path


def test_every_operation_documents_the_refusals_any_request_may_meet(world):
    paths = _signed_in(None).get("/api/schema/?format=json").json()["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            assert {"400", "403", "404", "413", "415"} <= set(operation["responses"]), (method, path)


def test_an_empty_number_in_the_query_is_refused_not_ignored(world):
    """``?before=`` used to be read as if ``before`` were absent (DRF's reading of a QueryDict)."""
    client = _signed_in(world.owner)
    base = f"/api/groups/{world.group.code}/messages/"
    for path, query in (
        (base, {"before": ""}),
        (base, {"limit": ""}),
        (f"{base}search/", {"q": "x", "before": ""}),
    ):
        response = client.get(path, query)
        assert response.status_code == 400, (path, query)
        assert response.json()["code"] == "invalid"
    assert client.get(base, {"before": "2"}).status_code == 200
