"""What Spark's encryption settings cost on a shuffle-heavy job, measured on the harness's kubelet.

Not a test (it asserts nothing): a measurement behind the chart README's figures. One small Spark
SQL application, rendered by the chart with values/pyspark-pi.yaml (a driver, two executors of one
core and 512m), shuffles `--rows` rows of about 140 bytes of hex (which LZ4 barely compresses) into
16 partitions and writes them to Spark's `noop` sink, after a warm-up job; the time of that job,
measured inside the driver, is the first figure; the CPU time of the two executor pods over their
whole life (from their cgroups; JVM start and warm-up included, alike for every shape) is the
second, less disturbed by whatever else the machine runs. Each shape runs `--rounds` times, the
shapes interleaved one application at a time, so that the load of the machine falls on all alike:

- `defaults`: security.rpc on (authentication, AES-GCM encryption), security.ioEncryption off;
- `io-encryption`: the same with security.ioEncryption.enabled (shuffle files and spills encrypted);
- `rpc-ctr`: the defaults with Spark's own default cipher, AES/CTR (not authenticated), by `sparkConf`;
- `rpc-plain`: security.rpc off, the reference for what RPC encryption itself costs.

The JVMs run with the JIT's defaults (the Spark suite's C1-only options would slow AES down).

Run as root, with Java 17 and pyspark, under the shared lock:
    flock /tmp/spark-tests.lock .venv/bin/python -m benchmarks.rpc_crypto [--rows N] [--rounds N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
from pathlib import Path

from tests import sparkdriver
from tests.harness.podrunner import spark_image
from tests.sparkdriver import App, SparkCluster

APP = '''
import sys, time
from pyspark.sql import SparkSession

rows = int(sys.argv[1])
spark = SparkSession.builder.appName("ShuffleBench").getOrCreate()
spark.range(0, 1000, numPartitions=4).count()  # warm-up: both executors registered and busy once
pad = "concat(sha2(cast(id as string), 256), sha2(cast(id + 1 as string), 256)) as pad"
data = spark.range(0, rows, numPartitions=8).selectExpr("id", pad)
start = time.monotonic()
data.repartition(16, "id").write.format("noop").mode("overwrite").save()
print(f"SHUFFLE rows={rows} seconds={time.monotonic() - start:.3f}", flush=True)
spark.stop()
'''

SHAPES = {
    "defaults": {},
    "io-encryption": {"security": {"ioEncryption": {"enabled": True}}},
    "rpc-ctr": {"sparkConf": {"spark.network.crypto.cipher": "AES/CTR/NoPadding"}},
    "rpc-plain": {"security": {"rpc": {"authenticate": False, "encryption": False}}},
}
RESULT = re.compile(r"SHUFFLE rows=(\d+) seconds=([0-9.]+)")


def main() -> None:
    """Run every shape `--rounds` times, one app at a time, and print each shape's times and median."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    home = sparkdriver.require_spark()
    work = Path(tempfile.mkdtemp(prefix="rpc-auth-bench-"))
    (work / "app").mkdir()
    (work / "cluster").mkdir()
    (work / "app" / "shuffle.py").write_text(APP)
    image = spark_image(home, {"/opt/bench": [work / "app"]})
    apps = [
        App(f"bench-{shape}-{round_}", f"bench-{shape}-{round_}", ["pyspark-pi.yaml"],
            {**values, "app": {"mainApplicationFile": "local:///opt/bench/shuffle.py", "arguments": [str(args.rows)]}})
        for round_ in range(args.rounds) for shape, values in SHAPES.items()
    ]
    cluster = SparkCluster(work / "cluster", image, volcano=False)
    try:
        runs = cluster.run_all(apps, parallel=1, timeout=600)
    finally:
        cluster.close()
    times: dict[str, list[float]] = {shape: [] for shape in SHAPES}
    cpu: dict[str, list[float]] = {shape: [] for shape in SHAPES}
    for app in apps:
        run = runs[app.name]
        found = RESULT.search(run.log)
        if run.returncode != 0 or not found or len(run.executors) != 2:
            raise SystemExit(f"{app.name} did not measure:\n{run.describe()}")
        shape = app.name.removeprefix("bench-").rsplit("-", 1)[0]
        times[shape].append(float(found.group(2)))
        cpu[shape].append(sum(e.cpu_seconds or 0.0 for e in run.executors))
    print(f"shuffle of {args.rows} rows into 16 partitions, 2 executors, {args.rounds} rounds")
    for label, figures in (("job wall time", times), ("executor CPU", cpu)):
        base = statistics.median(figures["defaults"])
        for shape, values in figures.items():
            median = statistics.median(values)
            print(f"{label:14} {shape:14} median {median:6.2f} s ({median / base - 1:+4.0%} vs defaults)  runs "
                  + ", ".join(f"{v:.2f}" for v in values))


if __name__ == "__main__":
    main()
