from __future__ import annotations

from typing import Any

import pytest

from sparkhelm.errors import UserError
from sparkhelm.spec.setparser import parse_set


def parsed(*expressions: str, as_string: bool = False) -> dict[str, Any]:
    target: dict[str, Any] = {}
    for expression in expressions:
        parse_set(expression, target, as_string=as_string)
    return target


@pytest.mark.parametrize(("expression", "expected"), [
    ("a=b", {"a": "b"}),
    ("a.b.c=1", {"a": {"b": {"c": 1}}}),
    ("a=1,b=2", {"a": 1, "b": 2}),
    ("a=true,b=FALSE,c=null", {"a": True, "b": False, "c": None}),
    ("a=0,b=007,c=1.5,d=-3", {"a": 0, "b": "007", "c": "1.5", "d": -3}),
    ("a={x,y,3}", {"a": ["x", "y", 3]}),
    ("a={}", {"a": []}),
    ("a[1]=x", {"a": [None, "x"]}),
    ("a[0].b=1", {"a": [{"b": 1}]}),
    ("sparkConf.spark\\.sql\\.x=5", {"sparkConf": {"spark.sql.x": 5}}),
    ("a=x\\,y", {"a": "x,y"}),
    ("a=k=v", {"a": "k=v"}),
    ("a=", {"a": ""}),
    ("a=99999999999999999999", {"a": "99999999999999999999"}),
])
def test_helm_semantics(expression: str, expected: dict[str, Any]) -> None:
    assert parsed(expression) == expected


def test_set_string_keeps_strings() -> None:
    assert parsed("a=1,b=true,c={1,2}", as_string=True) == {"a": "1", "b": "true", "c": ["1", "2"]}


def test_later_assignment_wins_and_merges() -> None:
    assert parsed("a.b=1", "a.c=2", "a.b=3") == {"a": {"b": 3, "c": 2}}


@pytest.mark.parametrize("expression", ["novalue", "=x", "a..b=1", "a[999999]=1", "[0]=x"])
def test_malformed(expression: str) -> None:
    with pytest.raises(UserError, match="--set"):
        parsed(expression)
