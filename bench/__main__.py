"""`make bench`: every benchmark against its baseline in the same run (``--quick``: small sizes)."""

import os
import sys

from bench.harness import bench_redis_url

if __name__ == "__main__":
    os.environ["REDIS_URL"] = bench_redis_url()  # Redis database 12 for all of them (the tests use 13-15)
    from bench import (
        audit_chain,
        chat_fanout,
        chat_memory,
        chat_resume,
        dashboard,
        history,
        retention,
        review_queue,
        screening,
        soak,
    )

    args = sys.argv[1:]
    benchmarks = (
        audit_chain,
        retention,
        screening,
        history,
        review_queue,
        dashboard,
        chat_fanout,
        chat_resume,
        chat_memory,
        soak,  # last: ten minutes at full size (one with --quick)
    )
    for benchmark in benchmarks:
        benchmark.main(args)
