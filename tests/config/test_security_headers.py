"""Issue 13 (security settings): every page carries the Content-Security-Policy; pages hold no inline script
or handler attribute that the policy would refuse."""

import re
from pathlib import Path

from django.urls import reverse

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_pages_carry_a_content_security_policy_without_inline_script(client, db):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy


def test_the_swagger_ui_is_left_out_of_the_policy(client, db):
    assert "Content-Security-Policy" not in client.get(reverse("api-docs"))
    assert "Content-Security-Policy" in client.get(reverse("api-schema"))


def test_no_template_has_inline_script_or_handler_attributes():
    offences = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offences.append(f"{path.name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):
            offences.append(f"{path.name}: handler attribute")
        if "javascript:" in text:
            offences.append(f"{path.name}: javascript: link")
    assert offences == []
