"""House rule 6: every mutating service records its audit event in the same transaction."""

import ast
import importlib
import inspect

import pytest

SERVICE_MODULES = [
    "identity.services",
    "groups.services",
    "screening.services",
    "credit.services",
    "notifications.services",
    "moderation.services",
    "reports.services",
]
# Bookkeeping that belongs to an action already audited elsewhere.
AUDITED_ELSEWHERE = {
    "user_session_record": "part of the login, audited as identity.login",
    "message_send": "message metadata goes to the network log (R13.2), sealed by digests",
    "message_send_file": "as message_send; the log row also names the file's SHA-256",
    "notify": "a notice follows an action its own service audited; the notice row is its record",
    "notify_group": "as notify",
    "notifications_mark_read": "the reader's own bookkeeping",
    "membership_mark_read": "the reader's own bookkeeping (how far they have read a group)",
    "notification_sms_deliver": "the notice row records the text message's status",
    "notification_sms_flush": "as notification_sms_deliver",
    "review_item_open": "puts a row in the review queue inside the service that created it, audited there",
    "review_item_settle": "takes a row out of the review queue inside the service that decided it",
    "reports_deliver_due": "each attempt is audited by report_deliver",
    "reports_run": "reports_generate and report_deliver audit each report and attempt",
}


def _public_services():
    for module_name in SERVICE_MODULES:
        module = importlib.import_module(module_name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module_name and not name.startswith("_"):
                yield pytest.param(function, id=f"{module_name}.{name}")


def _audited_services():
    for param in _public_services():
        if param.values[0].__name__ not in AUDITED_ELSEWHERE:
            yield param


def _called_names(function) -> set[str]:
    tree = ast.parse(inspect.getsource(function))
    return {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


@pytest.mark.parametrize("service", list(_audited_services()))
def test_every_mutating_service_writes_an_audit_event(service):
    calls = _called_names(service)
    module = importlib.import_module(service.__module__)
    followed: set[str] = set()
    # The private helpers of the same module it shares, and theirs in turn.
    while pending := {c for c in calls if c.startswith("_")} - followed:
        for name in pending:
            followed.add(name)
            helper = getattr(module, name, None)
            if inspect.isfunction(helper) and helper.__module__ == service.__module__:
                calls |= _called_names(helper)
    assert "audit_record" in calls, f"{service.__qualname__} changes state without audit_record"


@pytest.mark.parametrize("service", list(_public_services()))
def test_every_service_takes_a_keyword_only_actor_first(service):
    parameters = list(inspect.signature(service).parameters.values())
    assert parameters[0].name == "actor"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)
