"""JSONPath in Step Functions as AWS evaluates it: a definite path gives one value.

The Amazon States Language says a reference path "must only identify a single node in a
JSON structure", and Step Functions follows the Jayway JSONPath rule: a path made only of
field names and single array indexes is *definite* and gives the node itself; a path with
a wildcard, a slice, a filter, a union or a descent is *indefinite* and gives a list of
every match. moto's evaluator returns a list for a definite path whose index is not the
last step (`$.Apps[0].Status` gives `["InService"]`), so a Choice rule on it never matches
and Parameters receive a list. This module replaces moto's `extract_json` in every module
of the interpreter that imported it.
"""

from __future__ import annotations

import importlib
from typing import Any

from jsonpath_ng.ext.parser import parse
from jsonpath_ng.jsonpath import Child, Fields, Index, Root, This
from moto.stepfunctions.parser.asl.utils import json_path

_USERS = (
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.intrinsic.argument.argument",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.timestamp_operators",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.boolean_equals",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.numeric",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.string_operators",
    "moto.stepfunctions.parser.asl.eval.states",
)
_original = json_path.extract_json
_installed: list[Any] = []


def is_definite(expression: Any) -> bool:
    """True if a parsed JSONPath names one node: only fields and single indexes."""
    if isinstance(expression, Root | This):
        return True
    if isinstance(expression, Child):
        return is_definite(expression.left) and is_definite(expression.right)
    if isinstance(expression, Fields):
        return len(expression.fields) == 1 and expression.fields[0] != "*"
    if isinstance(expression, Index):
        return len(expression.indices) == 1
    return False


def extract_json(path: str, data: Any) -> Any:
    """The value of `path` in `data`: the node for a definite path, a list otherwise."""
    expression = parse(path)
    if not is_definite(expression):
        return _original(path, data)
    matches = expression.find(data)
    if not matches:
        raise json_path.NoSuchJsonPathError(json_path=path, data=data)
    return matches[0].value


def install() -> None:
    """Use `extract_json` everywhere moto's interpreter evaluates a JSONPath."""
    if _installed:
        return
    for name in _USERS:
        module = importlib.import_module(name)
        _installed.append(module)
        module.extract_json = extract_json  # type: ignore[attr-defined]
    json_path.extract_json = extract_json


def uninstall() -> None:
    """Give moto back its own evaluator."""
    for module in _installed:
        module.extract_json = _original
    json_path.extract_json = _original
    _installed.clear()
