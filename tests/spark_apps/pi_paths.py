"""The Python twin of SparkPi.java for the tests: Pi, and optionally every data path and a held UI.

Usage: pi_paths.py [partitions] [--data-paths] [--hold FILE] [--hold-first FILE]
  --data-paths        also shuffle (executors read each other's block managers) and collect two
                      results above spark.task.maxDirectResultSize (the driver fetches them from the
                      executors);
  --hold FILE         keep the driver and its UI up until FILE exists, at most 120 seconds;
  --hold-first FILE   start (so that the executors start and register), print "Holding until FILE",
                      wait until FILE exists (at most 180 seconds), then compute: for tests that act
                      on a running app first.
"""

import sys
import time
from operator import add
from pathlib import Path
from random import Random

from pyspark import SparkConf, SparkContext

POINTS = 100000
BIG_RESULT_BYTES = 2 << 20


def hits(seed: int) -> int:
    """Points of a seeded sample that fall inside the unit circle."""
    rng = Random(seed)
    return sum(1 for _ in range(POINTS) if rng.uniform(-1, 1) ** 2 + rng.uniform(-1, 1) ** 2 <= 1)


def main(args: list[str]) -> None:
    partitions = int(args[0]) if args and not args[0].startswith("--") else 2
    context = SparkContext(conf=SparkConf().setAppName("PiPaths"))  # no SQL session: less to start
    if "--hold-first" in args:
        _wait_for(Path(args[args.index("--hold-first") + 1]), 180)
    inside = context.parallelize(range(partitions), partitions).map(hits).reduce(add)
    print(f"Pi is roughly {4.0 * inside / (POINTS * partitions):f}", flush=True)
    if "--data-paths" in args:
        keys = context.parallelize(range(1000), 4).map(lambda n: (n % 10, 1)).reduceByKey(add, 4).count()
        big = context.parallelize([0, 1], 2).map(lambda _: bytes(BIG_RESULT_BYTES)).collect()
        print(f"Data paths: shuffled {keys} keys, fetched {len(big)} results of {BIG_RESULT_BYTES} bytes "
              "from the executors", flush=True)
    if "--hold" in args:
        _wait_for(Path(args[args.index("--hold") + 1]), 120)
    context.stop()


def _wait_for(release: Path, seconds: float) -> None:
    print("Holding until " + str(release), flush=True)
    deadline = time.monotonic() + seconds
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


if __name__ == "__main__":
    main(sys.argv[1:])
