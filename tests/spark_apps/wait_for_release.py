"""A PySpark application for tests/test_spark_driver.py: start a SparkContext, then wait.

The executors it asks for never run (the API server is an emulator), so instead of computing
anything it keeps the driver (and its UI) up until the test creates the file named by the first
argument, or for at most 120 seconds, then stops cleanly.
"""

import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
release = Path(sys.argv[1])
deadline = time.monotonic() + 120
while not release.exists() and time.monotonic() < deadline:
    time.sleep(0.1)
spark.stop()
