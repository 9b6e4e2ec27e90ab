from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparkhelm import naming
from sparkhelm.errors import UserError
from tests.invariants import DNS_1035


def test_suffix_has_at_least_40_random_bits() -> None:
    assert naming.SUFFIX_LENGTH * math.log2(len(naming.SUFFIX_ALPHABET)) >= 40


def test_generated_name_shape() -> None:
    name = naming.generate_app_name("pyspark-pi", "routine", suffix="abcd1234")
    assert name == "pyspark-pi-routine-abcd1234"
    assert naming.generate_app_name("pyspark-pi", suffix="abcd1234") == "pyspark-pi-abcd1234"


def test_long_base_is_truncated_never_the_suffix() -> None:
    name = naming.generate_app_name("x" * 100, "urgent", suffix="zzzz9999")
    assert len(name) == naming.MAX_APP_NAME
    assert name.endswith("-urgent-zzzz9999")


def test_long_priority_class_keeps_some_base() -> None:
    name = naming.generate_app_name("nightly-etl", "p" * 80, suffix="zzzz9999")
    assert len(name) <= 47 and name.startswith("nightly-") and name.endswith("-zzzz9999")


@pytest.mark.parametrize(("raw", "clean"), [("My App!", "my-app"), ("123abc", "abc"), ("__x__", "x"), ("..", ""), ("SparkPi", "sparkpi")])
def test_sanitize(raw: str, clean: str) -> None:
    assert naming.sanitize(raw) == clean


def test_unusable_base_falls_back_to_spark() -> None:
    assert naming.generate_app_name("1234", suffix="abcd1234") == "spark-abcd1234"


@pytest.mark.parametrize(("app", "file", "cls", "base"), [
    ("etl", "x.py", "", "etl"),
    ("", "local:///opt/spark/examples/src/main/python/pi.py", "", "pi"),
    ("", "local:///x/spark-examples.jar", "org.apache.spark.examples.SparkPi", "SparkPi"),
    ("", "", "", "spark"),
])
def test_default_base(app: str, file: str, cls: str, base: str) -> None:
    assert naming.default_base(app, file, cls) == base


@given(base=st.text(max_size=120), priority=st.text(max_size=120))
@settings(max_examples=300, deadline=None)
def test_any_base_and_priority_give_a_valid_name(base: str, priority: str) -> None:
    name = naming.generate_app_name(base, priority)
    assert len(name) <= 47 and DNS_1035.match(name)
    assert name[-8:].isalnum() and name[-9] == "-"


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_validate_accepts_exactly_dns_1035_up_to_47(name: str) -> None:
    valid = bool(DNS_1035.match(name)) and len(name) <= 47
    if valid:
        assert naming.validate_app_name(name) == name
    else:
        with pytest.raises(UserError):
            naming.validate_app_name(name)


def test_no_collisions_in_many_generated_names() -> None:
    names = {naming.generate_app_name("app") for _ in range(20000)}
    assert len(names) == 20000
