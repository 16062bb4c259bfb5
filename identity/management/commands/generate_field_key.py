from django.core.management.base import BaseCommand

from common import crypto


class Command(BaseCommand):
    help = "Print a new random key for FIELD_ENCRYPTION_KEYS (put it first, with a new key id, then rotate)."

    def add_arguments(self, parser):
        parser.add_argument("--kid", default="k1", help="the key id to print with it")

    def handle(self, *args, kid, **options):
        self.stdout.write(f"{kid}:{crypto.generate_key()}")
