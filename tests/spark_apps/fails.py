"""A PySpark application that fails the way many real ones do: its input is not there.

It checks its input before it starts a SparkSession (so no executor is started for nothing), and
raises. `sparkhelm run --wait` must exit 1 and show this reason from the driver's log.
"""

import sys
from pathlib import Path

from pyspark.sql import SparkSession

source = Path(sys.argv[1] if len(sys.argv) > 1 else "/data/input.csv")
if not source.exists():
    raise FileNotFoundError(f"input {source} does not exist: nothing to process")
spark = SparkSession.builder.appName("Fails").getOrCreate()
spark.read.csv(str(source)).show()
spark.stop()
