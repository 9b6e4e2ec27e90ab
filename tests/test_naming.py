from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparkhelm.errors import UserError
from sparkhelm.spec import naming
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
@settings(max_examples=2000, deadline=None)
def test_any_base_and_priority_give_a_valid_name(base: str, priority: str) -> None:
    name = naming.generate_app_name(base, priority)
    assert len(name) <= 47 and DNS_1035.match(name)
    suffix = naming.SUFFIX_LENGTH
    assert name[-suffix:].isalnum() and name[-suffix - 1] == "-"


@given(base=st.text(max_size=120))
@settings(max_examples=1000, deadline=None)
def test_a_user_base_is_sanitised_into_the_name_never_passed_raw(base: str) -> None:
    """A base from values (app.name, the file, the class) is kept only in its sanitised form."""
    name = naming.generate_app_name(base, suffix="abcd1234")
    clean = naming.sanitize(base)
    assert set(clean) <= set("abcdefghijklmnopqrstuvwxyz0123456789-") and (not clean or clean[0].isalpha())
    expected = clean[:38].rstrip("-") if clean else "spark"
    assert name == f"{expected}-abcd1234"


@given(name=st.text(min_size=1, max_size=60))
@settings(max_examples=1000, deadline=None)
def test_an_exact_user_name_is_taken_as_is_or_rejected_never_altered(name: str) -> None:
    """`--name` and nameOverride are never sanitised silently: valid as given, or a UserError naming the flag."""
    try:
        accepted = naming.validate_app_name(name, source="--name")
    except UserError as error:
        assert str(error).startswith(f"--name {name!r} is not a valid app name")
    else:
        assert accepted == name and len(name) <= 47 and DNS_1035.match(name)


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_validate_accepts_exactly_dns_1035_up_to_47(name: str) -> None:
    valid = bool(DNS_1035.match(name)) and len(name) <= 47
    if valid:
        assert naming.validate_app_name(name) == name
    else:
        with pytest.raises(UserError):
            naming.validate_app_name(name)


def test_no_collision_in_100000_generated_names() -> None:
    """Over 51 random bits: 100,000 names for one base never collide (the birthday bound puts the
    chance of any collision in this test near 1 in 700,000)."""
    names = {naming.generate_app_name("nightly-etl", "routine") for _ in range(100_000)}
    assert len(names) == 100_000
