"""sparkConf: every key Spark documents is accepted, and spark-defaults.conf reads back, through the
JVM's own java.util.Properties.load (what Spark's Utils.getPropertiesFromFile calls), as the values
said; what would break the file (whitespace, '=', ':' or a backslash in a key, a line break
anywhere) is refused by the schema, for sparkhelm and raw Helm alike."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from tests.conftest import CHART, render_objects, write_values
from tests.invariants import parse_spark_defaults

#: Keys as Spark's documentation writes them (configuration, monitoring, running-on-kubernetes,
#: cloud-integration, SQL catalogs), with a plausible value each.
SPARK_KEYS: dict[str, Any] = {
    "spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet",
    "spark.metrics.conf.*.sink.prometheusServlet.path": "/metrics/prometheus",
    "spark.metrics.conf.master.sink.prometheusServlet.path": "/metrics/master/prometheus",
    "spark.metrics.conf.*.source.jvm.class": "org.apache.spark.metrics.source.JvmSource",
    "spark.ui.prometheus.enabled": True,
    "spark.executorEnv.TZ": "UTC",
    "spark.executorEnv.PYSPARK_PYTHON": "python3",
    "spark.kubernetes.driver.annotation.prometheus.io/scrape": "true",
    "spark.kubernetes.driver.annotation.prometheus.io/path": "/metrics/executors/prometheus",
    "spark.kubernetes.executor.annotation.cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
    "spark.kubernetes.executor.label.app.kubernetes.io/part-of": "etl",
    "spark.kubernetes.node.selector.topology.kubernetes.io/zone": "eu-west-1a",
    "spark.kubernetes.executor.secretKeyRef.AWS_ACCESS_KEY_ID": "aws-s3:access-key",
    "spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.claimName": "OnDemand",
    "spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.mount.path": "/data",
    "spark.hadoop.fs.s3a.bucket.my-bucket.endpoint": "https://s3.eu-west-1.amazonaws.com",
    "spark.hadoop.fs.s3a.bucket.my-bucket.endpoint.region": "eu-west-1",
    "spark.hadoop.javax.jdo.option.ConnectionURL": "jdbc:postgresql://metastore-db:5432/metastore",
    "spark.sql.catalog.iceberg": "org.apache.iceberg.spark.SparkCatalog",
    "spark.sql.catalog.iceberg.type": "hive",
    "spark.sql.catalog.iceberg.uri": "thrift://hive-metastore.hive.svc:9083",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.executor.extraJavaOptions": "-XX:+UseG1GC -Dlog4j2.configurationFile=file:/opt/spark/conf/log4j2.properties",
    "spark.eventLog.dir": "s3a://logs/spark-events",
    "spark.sql.shuffle.partitions": 200,
    "spark.memory.fraction": 0.6,
}

#: Values that java.util.Properties would change if written as they are.
TRICKY_VALUES: dict[str, str] = {
    "spark.test.windowsPath": "C:\\Spark\\conf",
    "spark.test.regex": "(?i)(?<=://)[^/@\\s]+:[^/@\\s]+(?=@)",
    "spark.test.trailingBackslash": "ends with a backslash\\",
    "spark.test.unicodeEscapeText": "\\u0041 stays six characters",
    "spark.test.leadingEquals": "=starts with equals",
    "spark.test.leadingColon": ":starts with a colon",
    "spark.test.hash": "#not a comment",
    "spark.test.bang": "!not a comment either",
    "spark.test.unicode": "café ✓ 数据",
    "spark.test.tab": "a\tb",
}

JAVA_READER = """
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class ReadSparkDefaults {
    public static void main(String[] args) throws IOException {
        Properties properties = new Properties();
        try (Reader reader = new InputStreamReader(new FileInputStream(args[0]), StandardCharsets.UTF_8)) {
            properties.load(reader);
        }
        Base64.Encoder b64 = Base64.getEncoder();
        for (String key : new TreeSet<>(properties.stringPropertyNames())) {
            String value = properties.getProperty(key).trim();
            System.out.println(b64.encodeToString(key.getBytes(StandardCharsets.UTF_8)) + " "
                + b64.encodeToString(value.getBytes(StandardCharsets.UTF_8)));
        }
    }
}
"""


def _java_reads(conf_text: str, tmp_path: Path) -> dict[str, str]:
    """spark-defaults.conf as the JVM's Properties.load reads it, each value trimmed as Spark does."""
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on PATH")
    source = tmp_path / "ReadSparkDefaults.java"
    source.write_text(JAVA_READER)
    conf = tmp_path / "spark-defaults.conf"
    conf.write_text(conf_text, encoding="utf-8")
    out = subprocess.run([java, str(source), str(conf)], capture_output=True, text=True, timeout=180, check=True).stdout
    pairs = (line.split(" ") for line in out.splitlines() if line)
    return {base64.b64decode(k).decode(): base64.b64decode(v).decode() if v else "" for k, v in pairs}


def _conf_text(tmp_path: Path, spark_conf: dict[str, Any]) -> str:
    objects, _, _ = render_objects(tmp_path, {"sparkConf": spark_conf}, name="conf-app")
    return str(next(o for o in objects if o["kind"] == "ConfigMap")["data"]["spark-defaults.conf"])


def _as_spark_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_the_corpus_is_large_enough() -> None:
    assert len(SPARK_KEYS) >= 20
    assert any("/" in key for key in SPARK_KEYS) and any("*" in key for key in SPARK_KEYS)


def test_spark_documented_keys_are_accepted_and_read_back_by_the_jvm(tmp_path: Path) -> None:
    text = _conf_text(tmp_path, SPARK_KEYS)
    read = _java_reads(text, tmp_path)
    for key, value in SPARK_KEYS.items():
        assert read.get(key) == _as_spark_text(value), key
    assert parse_spark_defaults(text) == read


def test_values_that_properties_would_change_read_back_as_given(tmp_path: Path) -> None:
    text = _conf_text(tmp_path, TRICKY_VALUES)
    read = _java_reads(text, tmp_path)
    for key, value in TRICKY_VALUES.items():
        assert read.get(key) == value, (key, read.get(key))
    assert parse_spark_defaults(text) == read


def test_the_secure_redaction_regex_reaches_spark_intact(tmp_path: Path) -> None:
    """The regex of files/secure-defaults.yaml holds \\s: unescaped, Properties.load made it a plain s."""
    wanted = yaml.safe_load((CHART / "files" / "secure-defaults.yaml").read_text())
    read = _java_reads(_conf_text(tmp_path, {}), tmp_path)
    for key, value in wanted.items():
        assert read[key] == value, key


def test_the_python_reader_follows_properties_load() -> None:
    """tests.invariants.parse_spark_defaults on the cases the JVM tests above do not reach."""
    conf = parse_spark_defaults("# comment\n! comment\n  spark.a = 1\nspark.b:2\nspark.c\\ d  x \\u0041\\t\nspark.e\n")
    assert conf == {"spark.a": "1", "spark.b": "2", "spark.c d": "x A", "spark.e": ""}
    with pytest.raises(AssertionError, match="continues"):
        parse_spark_defaults("spark.a x\\\n")


BAD_KEYS = [
    ("spark.a b", "whitespace"),
    ("spark.a\tb", "a tab"),
    ("spark.a=b", "an equals sign"),
    ("spark.a:b", "a colon"),
    ("spark.a\\b", "a backslash"),
    ("spark.a\nb", "a line break"),
    ("spark.a\n", "a trailing line break"),
    ("spark.", "nothing after spark."),
    ("hadoop.fs.s3a.endpoint", "no spark. prefix"),
]


def _refused_by_sparkhelm(cli: Any, tmp_path: Path, spark_conf: dict[str, Any]) -> str:
    """The one stderr line of `sparkhelm values` (exit code 2) for these sparkConf entries."""
    result = cli("values", "-f", write_values(tmp_path, {"sparkConf": spark_conf}), "--name", "conf-app")
    assert result.exit_code == 2, (result.exit_code, result.stdout)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return str(lines[0])


@pytest.mark.parametrize(("key", "what"), BAD_KEYS, ids=[b[1] for b in BAD_KEYS])
def test_keys_that_would_break_the_file_are_refused(cli: Any, tmp_path: Path, key: str, what: str) -> None:
    line = _refused_by_sparkhelm(cli, tmp_path, {key: "x"})
    assert "sparkConf has an invalid key" in line and "fix or remove the key" in line
    with helm_python.Chart.load(str(CHART)) as chart, pytest.raises(helm_python.HelmError, match="schema"):
        chart.render({"sparkConf": {key: "x"}}, name="conf-app", namespace="ns")


@pytest.mark.parametrize("value", ["two\nlines", "carriage\rreturn", "ends with a newline\n"])
def test_values_with_line_breaks_are_refused(cli: Any, tmp_path: Path, value: str) -> None:
    line = _refused_by_sparkhelm(cli, tmp_path, {"spark.a": value})
    assert "sparkConf.spark.a is " in line and "expected a value on one line" in line
    with helm_python.Chart.load(str(CHART)) as chart, pytest.raises(helm_python.HelmError, match="schema"):
        chart.render({"sparkConf": {"spark.a": value}}, name="conf-app", namespace="ns")
