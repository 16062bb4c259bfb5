from django.core.management.base import BaseCommand

from audit import services
from common.actors import Actor, Door


class Command(BaseCommand):
    help = "Seal network-log rows written since the last seal with a chained, exported digest."

    def handle(self, *args, **options):
        sealed = 0
        while (digest := services.network_log_seal(actor=Actor.system(door=Door.CLI))) is not None:
            sealed += digest.row_count
        self.stdout.write(f"sealed {sealed} network-log rows")
