"""`make bench`: every benchmark against its baseline in the same run (``--quick``: small sizes)."""

import sys

from bench import audit_chain, retention, screening

if __name__ == "__main__":
    args = sys.argv[1:]
    for benchmark in (audit_chain, retention, screening):
        benchmark.main(args)
