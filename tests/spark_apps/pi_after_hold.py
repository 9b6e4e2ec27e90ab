"""A PySpark application that starts, waits, then computes: for tests that act on a running app first.

Usage: pi_after_hold.py FILE [partitions]
  Starts its SparkContext (so its executors start and register), waits until FILE exists (at most
  180 seconds), then computes Pi, shuffles (executors read each other's block managers) and collects
  two results above spark.task.maxDirectResultSize (the driver fetches them from the executors'
  block managers): every connection of a Spark application, after whatever the test did meanwhile.
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
    release = Path(args[0])
    partitions = int(args[1]) if len(args) > 1 else 2
    context = SparkContext(conf=SparkConf().setAppName("PiAfterHold"))
    print("Holding until " + str(release), flush=True)
    deadline = time.monotonic() + 180
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    inside = context.parallelize(range(partitions), partitions).map(hits).reduce(add)
    print(f"Pi is roughly {4.0 * inside / (POINTS * partitions):f}", flush=True)
    keys = context.parallelize(range(1000), 4).map(lambda n: (n % 10, 1)).reduceByKey(add, 4).count()
    big = context.parallelize([0, 1], 2).map(lambda _: bytes(BIG_RESULT_BYTES)).collect()
    print(f"Data paths: shuffled {keys} keys, fetched {len(big)} results of {BIG_RESULT_BYTES} bytes "
          "from the executors", flush=True)
    context.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
