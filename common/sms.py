"""Text messages through a pluggable backend, like Django's e-mail backends (``SMS_BACKEND``).

``ConsoleBackend`` (development) prints; ``FileBackend`` appends JSON lines to ``SMS_FILE_PATH`` (tests
read codes from it); ``LocmemBackend`` keeps them in ``outbox``. A provider's backend is a settings change:
any class with ``send(phone, text)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

outbox: list[dict] = []


class ConsoleBackend:
    def send(self, phone: str, text: str) -> None:
        sys.stdout.write(f"[SMS to {phone}] {text}\n")
        sys.stdout.flush()


class LocmemBackend:
    def send(self, phone: str, text: str) -> None:
        outbox.append({"phone": phone, "text": text})


class FileBackend:
    def send(self, phone: str, text: str) -> None:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"phone": phone, "text": text, "at": timezone.now().isoformat()}) + "\n")


def send_sms(phone: str, text: str) -> None:
    import_string(settings.SMS_BACKEND)().send(phone, text)
