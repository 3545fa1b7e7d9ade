"""A small, safe expression language for form rules (``ask_if`` and ``checks``).

Expressions look like Python and are parsed with :mod:`ast`, but only a whitelist of nodes is
accepted and they are evaluated by walking the tree (never ``eval``):

- names (question keys, ``value`` = the answer being checked, ``today`` = ISO date string);
- constants: integers, decimals, strings, ``None``, ``True``/``False``; lists/tuples of them;
- comparisons, chained too (``0 <= value <= 100``), ``is None``, ``is not None``, ``in``;
- ``and``, ``or``, ``not``; ``+ - * /`` on numbers; unary minus; parentheses;
- the functions ``len``, ``abs``, ``min``, ``max``, ``has_phone(text)`` and ``month(date)``.

Dates are ISO strings ("2023-06-05"), so ``value <= today`` compares them correctly.
Multi-choice answers are lists of choice keys: ``'khac' in activity_forms``.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_LENGTH = 500
BUILTIN_NAMES = frozenset({"value", "today"})


class ExpressionError(ValueError):
    """An expression that is not allowed; ``column`` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column


class EvaluationError(Exception):
    """The expression cannot be evaluated with these answers (a name missing, a type mismatch)."""


_PHONE_RUN = re.compile(r"\+?\d[\d .\-()]*\d")


def has_phone(text: object) -> bool:
    """Whether the text holds a Vietnamese phone number.

    A mobile number is 10 digits starting with 0 ("0912 345 678", "0912.345.678"), or +84 and
    9 digits; an office landline is 11 digits starting with 02 ("0213 3876 543").
    """
    if not isinstance(text, str):
        raise EvaluationError("has_phone() needs a text")
    for run in _PHONE_RUN.finditer(text):
        groups = re.findall(r"\d+", run.group())
        international = run.group().startswith("+")
        for start, first in enumerate(groups):
            if len(first) < 3 and not (international and start == 0):
                continue  # "01.02.2023 45" is a date, not a phone number
            digits = ""
            for group in groups[start:]:
                digits += group
                if _is_phone(digits, international=international and start == 0):
                    return True
                if len(digits) > 11:
                    break
    return False


def _is_phone(digits: str, *, international: bool) -> bool:
    if international:
        return len(digits) == 11 and digits.startswith("84")
    if len(digits) == 10:
        return digits.startswith("0")
    return len(digits) == 11 and digits.startswith("02")


def _month(value: object) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise EvaluationError("month() needs a date")
    return int(value[5:7])


def _number(value: object, function: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvaluationError(f"{function}() needs numbers")
    return value


def _len(value: object) -> int:
    if not isinstance(value, str | list | tuple):
        raise EvaluationError("len() needs a text or a list")
    return len(value)


def _abs(value: object) -> int | float:
    return abs(_number(value, "abs"))


def _extreme(function: str, pick: Callable[[list[Any]], Any]) -> Callable[..., Any]:
    def call(*args: object) -> Any:
        items = list(args[0]) if len(args) == 1 and isinstance(args[0], list | tuple) else args
        if not items:
            raise EvaluationError(f"{function}() of nothing")
        return pick([_number(item, function) for item in items])

    return call


@dataclass(frozen=True)
class _Function:
    call: Callable[..., Any]
    min_args: int
    max_args: int | None


FUNCTIONS: dict[str, _Function] = {
    "len": _Function(_len, 1, 1),
    "abs": _Function(_abs, 1, 1),
    "min": _Function(_extreme("min", min), 1, None),
    "max": _Function(_extreme("max", max), 1, None),
    "has_phone": _Function(has_phone, 1, 1),
    "month": _Function(_month, 1, 1),
}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda left, right: _contains(right, left),
    ast.NotIn: lambda left, right: not _contains(right, left),
}
_FORBIDDEN_HINTS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "indexing ('[...]') is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.IfExp: "'... if ... else ...' is not allowed; use 'and'/'or'",
    ast.NamedExpr: "':=' is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Set: "sets are not allowed; use a list [...]",
    ast.Await: "'await' is not allowed",
}


def _contains(container: object, item: object) -> bool:
    if isinstance(container, list | tuple):
        return item in container
    if isinstance(container, str) and isinstance(item, str):
        return item in container
    raise EvaluationError("'in' needs a list or a text on its right")


@dataclass(frozen=True)
class Expression:
    """A compiled rule; compare and hash by its text."""

    text: str
    names: frozenset[str]
    _tree: ast.Expression = field(repr=False, compare=False)

    def evaluate(self, env: Mapping[str, object]) -> object:
        """Evaluate against answers; raise EvaluationError when it cannot be evaluated."""
        try:
            return _evaluate(self._tree.body, env)
        except EvaluationError:
            raise
        except (TypeError, ValueError, ArithmeticError, RecursionError, MemoryError) as exc:
            raise EvaluationError(str(exc)) from None

    def compared_texts(self) -> list[tuple[str, str]]:
        """(name, text) for each ``'text' in name``, ``name == 'text'`` or ``!=``.

        The loader uses it to check that the text is a choice key of that question.
        """
        pairs: list[tuple[str, str]] = []
        for node in ast.walk(self._tree):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            for index, op in enumerate(node.ops):
                left, right = operands[index], operands[index + 1]
                if isinstance(op, ast.In | ast.NotIn):
                    pair = (right, left)
                elif isinstance(op, ast.Eq | ast.NotEq):
                    pair = (left, right) if isinstance(left, ast.Name) else (right, left)
                else:
                    continue
                name, constant = pair
                if (
                    isinstance(name, ast.Name)
                    and isinstance(constant, ast.Constant)
                    and isinstance(constant.value, str)
                ):
                    pairs.append((name.id, constant.value))
        return pairs

    def __str__(self) -> str:
        return self.text


def compile_expression(text: str) -> Expression:
    """Parse and vet an expression; raise ExpressionError (message and column) if not allowed."""
    if not isinstance(text, str):
        raise ExpressionError("an expression must be a text", 1)
    # A folded YAML scalar may span lines: keep one line so columns stay meaningful.
    source = text.replace("\r", " ").replace("\n", " ")
    indent = len(source) - len(source.lstrip())
    source = source.strip()
    if not source:
        raise ExpressionError("the expression is empty", 1)
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters", 1)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        if not exc.offset:  # Python reports offset 0 when the text ends too early
            raise ExpressionError(
                "syntax error: the rule ends too early", len(source) + 1 + indent
            ) from None
        raise ExpressionError(f"syntax error: {exc.msg}", exc.offset + indent) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot read the expression: {exc}", 1) from None
    names: set[str] = set()
    _vet(tree.body, names, source, indent)
    return Expression(source, frozenset(names), tree)


def _column(node: ast.AST, source: str, indent: int) -> int:
    offset = getattr(node, "col_offset", 0)
    # col_offset counts UTF-8 bytes; Vietnamese strings need it in characters.
    characters = len(source.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
    return characters + 1 + indent


def _vet(node: ast.AST, names: set[str], source: str, indent: int) -> None:
    def fail(message: str, at: ast.AST = node) -> ExpressionError:
        return ExpressionError(message, _column(at, source, indent))

    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _vet(value, names, source, indent)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            raise fail("only 'not', '-' and '+' are allowed before a value")
        _vet(node.operand, names, source, indent)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise fail("only + - * / are allowed in arithmetic")
        _vet(node.left, names, source, indent)
        _vet(node.right, names, source, indent)
    elif isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            if isinstance(op, ast.Is | ast.IsNot):
                right = operands[index + 1]
                if not (isinstance(right, ast.Constant) and right.value is None):
                    raise fail("'is' and 'is not' may only compare with None", right)
        for operand in operands:
            _vet(operand, names, source, indent)
    elif isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise fail(f"the name {node.id!r} is not allowed")
        if node.id in FUNCTIONS:
            raise fail(f"{node.id!r} is a function; call it: {node.id}(...)")
        names.add(node.id)
    elif isinstance(node, ast.Constant):
        if node.value is not None and not isinstance(node.value, bool | int | float | str):
            raise fail(f"constants of type {type(node.value).__name__} are not allowed")
    elif isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            if isinstance(element, ast.Starred):
                raise fail("'*' unpacking is not allowed", element)
            _vet(element, names, source, indent)
    elif isinstance(node, ast.Call):
        _vet_call(node, names, source, indent, fail)
    else:
        hint = next(
            (text for kind, text in _FORBIDDEN_HINTS.items() if isinstance(node, kind)), None
        )
        raise fail(hint or f"{type(node).__name__} is not allowed in a rule")


def _vet_call(
    node: ast.Call,
    names: set[str],
    source: str,
    indent: int,
    fail: Callable[..., ExpressionError],
) -> None:
    allowed = ", ".join(sorted(FUNCTIONS))
    if not isinstance(node.func, ast.Name):
        raise fail(f"only these functions may be called: {allowed}", node.func)
    function = FUNCTIONS.get(node.func.id)
    if function is None:
        raise fail(f"unknown function {node.func.id!r} (allowed: {allowed})", node.func)
    if node.keywords:
        raise fail("keyword arguments are not allowed")
    count = len(node.args)
    if count < function.min_args or (function.max_args is not None and count > function.max_args):
        expected = (
            str(function.min_args)
            if function.max_args == function.min_args
            else f"at least {function.min_args}"
        )
        raise fail(f"{node.func.id}() takes {expected} argument(s), not {count}")
    for argument in node.args:
        if isinstance(argument, ast.Starred):
            raise fail("'*' unpacking is not allowed", argument)
        _vet(argument, names, source, indent)


def _arithmetic(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvaluationError("arithmetic needs numbers")
    return value


def _evaluate(node: ast.AST, env: Mapping[str, object]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise EvaluationError(f"no answer for {node.id!r}")
        return env[node.id]
    if isinstance(node, ast.BoolOp):
        result: Any = None
        for value_node in node.values:
            result = _evaluate(value_node, env)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not operand
        number = _arithmetic(operand)
        return -number if isinstance(node.op, ast.USub) else +number
    if isinstance(node, ast.BinOp):
        left = _arithmetic(_evaluate(node.left, env))
        right = _arithmetic(_evaluate(node.right, env))
        if isinstance(node.op, ast.Div) and right == 0:
            raise EvaluationError("division by zero")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, env)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, env)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(element, env) for element in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        function = FUNCTIONS[node.func.id]
        return function.call(*[_evaluate(argument, env) for argument in node.args])
    raise EvaluationError(f"{type(node).__name__} cannot be evaluated")  # vetted away
