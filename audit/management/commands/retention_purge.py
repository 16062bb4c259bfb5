import sys

from django.core.management.base import BaseCommand

from audit import services
from common.actors import Actor, Door


class Command(BaseCommand):
    help = "Remove records past their retention period (never under 180 days, never anything held)."

    def add_arguments(self, parser):
        parser.add_argument("record_class", choices=services.retention_classes())
        parser.add_argument("--batch-size", type=int, default=5_000)

    def handle(self, *args, record_class, batch_size, **options):
        def progress(done):
            sys.stdout.write(f"\r{record_class}: {done} removed…")
            sys.stdout.flush()

        run = services.retention_purge(
            actor=Actor.system(door=Door.CLI),
            record_class=record_class,
            batch_size=batch_size,
            progress=progress,
        )
        self.stdout.write(
            f"\n{record_class}: {run.removed} removed (cut-off {run.cutoff:%Y-%m-%d %H:%M} UTC)"
        )
