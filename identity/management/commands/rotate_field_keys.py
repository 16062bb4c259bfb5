from django.core.management.base import BaseCommand

from common import crypto
from common.actors import Actor, Door
from identity import services


class Command(BaseCommand):
    help = "Re-encrypt stored real names and ID numbers with the current (first) key"

    def handle(self, *args, **options):
        changed = services.field_keys_rotate(actor=Actor.system(door=Door.CLI))
        self.stdout.write(f"re-encrypted {changed} verification(s) with key {crypto.current_key_id()!r}")
        self.stdout.write(
            "Older keys can be removed from FIELD_ENCRYPTION_KEYS once every process runs this setting."
        )
