"""JSON Logic for form rules: type-checked with python-jsonlogic, run as compiled closures.

python-jsonlogic parses a rule and type-checks it against the JSON Schema of the data it
reads (a `var` that names no field, a text compared with a number); `aksi check` reports
what it finds. Evaluation does not go through its operator tree: a rule runs once per desa
on every save, and a closure built once per rule costs a fraction of an interpreted walk.
The operator set is the small one docs/form-format.md lists, so both agree by construction;
the browser will run the same rules with json-logic-js plus ``year`` and ``month``.

A `var` whose field is not filled makes the whole rule `Missing`: a rule is only judged on
complete operands, and completeness is the schema's ``required``.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator as op
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from jsonlogic import JSONLogicExpression, JSONLogicSyntaxError, Operator
from jsonlogic.json_schema.types import BooleanType, DateType, IntegerType, JSONSchemaType
from jsonlogic.operators import operator_registry
from jsonlogic.registry import UnknownOperator
from jsonlogic.resolving import DotReferenceParser
from jsonlogic.typechecking import TypecheckContext, get_type, typecheck

OPERATORS = ("var", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "if",
             "and", "or", "!", "year", "month")


class Missing(Exception):
    """A field the rule reads is not filled (or not of a type the rule can judge): the
    rule is not judged."""


# What evaluating a rule may raise on data the schema refuses anyway (a modulo by zero,
# a text where a number belongs): the rule is then not judged, like a missing field.
NOT_JUDGED = (Missing, ArithmeticError, TypeError, ValueError)


class LogicError(ValueError):
    """A rule that is not JSON Logic of the supported operators."""


Fn = Callable[[Mapping[str, Any]], Any]


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or value.get(part) is None:
            raise Missing(path)
        value = value[part]
    return value


def _getter(path: str) -> Fn:
    """`_lookup` of one path, specialised: a rule reads a var once per desa on every save,
    and a plain name in a plain dict is by far the most common case."""
    if "." in path:
        return lambda data: _lookup(data, path)

    def get(data: Mapping[str, Any]) -> Any:
        if type(data) is dict or isinstance(data, Mapping):
            value = data.get(path)
            if value is not None:
                return value
        raise Missing(path)
    return get


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float or (
        kind is not bool and isinstance(value, (int, float)))


def _number(value: Any) -> float:
    if not _is_number(value):
        raise Missing(value)  # a value of the wrong type is the schema's problem
    return value


def _fold(fn: Callable[[Any, Any], Any], args: list[Fn]) -> Fn:
    if len(args) == 2:
        first, second = args
        return lambda data: fn(_number(first(data)), _number(second(data)))

    def run(data: Mapping[str, Any]) -> Any:
        values = [_number(a(data)) for a in args]
        return functools.reduce(fn, values)
    return run


def _comparable(a: Any, b: Any) -> bool:
    return (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))


def _compare(fn: Callable[[Any, Any], bool], args: list[Fn]) -> Fn:
    left, right = args

    def run(data: Mapping[str, Any]) -> bool:
        a, b = left(data), right(data)
        if not _comparable(a, b):
            raise Missing((a, b))  # a value of the wrong type is the schema's problem
        return fn(a, b)
    return run


def _divide(args: list[Fn]) -> Fn:
    def run(data: Mapping[str, Any]) -> Any:
        a, b = _number(args[0](data)), _number(args[1](data))
        if b == 0:
            raise Missing("/0")
        return a / b
    return run


def _if(args: list[Fn]) -> Fn:
    def run(data: Mapping[str, Any]) -> Any:
        for i in range(0, len(args) - 1, 2):
            if args[i](data):
                return args[i + 1](data)
        return args[-1](data) if len(args) % 2 else None
    return run


def _date_part(start: int, end: int, args: list[Fn]) -> Fn:
    def run(data: Mapping[str, Any]) -> int:
        value = args[0](data)
        try:
            return int(dt.date.fromisoformat(str(value)).isoformat()[start:end])
        except ValueError:
            raise Missing(value) from None
    return run


_ARITY = {"==": (2, 2), "!=": (2, 2), "<": (2, 2), "<=": (2, 2), ">": (2, 2), ">=": (2, 2),
          "/": (2, 2), "%": (2, 2), "-": (1, 2), "!": (1, 1), "year": (1, 1), "month": (1, 1),
          "+": (1, 99), "*": (1, 99), "and": (1, 99), "or": (1, 99), "if": (1, 99)}


def compile_logic(expr: Any) -> tuple[Fn, frozenset[str]]:
    """A closure evaluating ``expr`` on data, and the variables it reads."""
    reads: set[str] = set()

    def build(node: Any) -> Fn:
        if isinstance(node, list):
            parts = [build(n) for n in node]
            return lambda data: [p(data) for p in parts]
        if not isinstance(node, Mapping):
            return lambda data, value=node: value
        if len(node) != 1:
            raise LogicError(f"satu operasi per objek, bukan {len(node)}: {dict(node)}")
        (name, raw), = node.items()
        args = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        if name == "var":
            if not args or not isinstance(args[0], str) or not args[0]:
                raise LogicError("'var' memerlukan nama isian")
            reads.add(args[0])
            return _getter(args[0])
        if name not in _ARITY:
            raise LogicError(f"operasi '{name}' tidak dikenal; yang tersedia: "
                             f"{', '.join(OPERATORS)}")
        low, high = _ARITY[name]
        if not low <= len(args) <= high:
            raise LogicError(f"'{name}' memerlukan {low}" + (f"-{high}" if high != low else "")
                             + f" argumen, bukan {len(args)}")
        fns = [build(a) for a in args]
        if name in ("==", "!="):
            fn = op.eq if name == "==" else op.ne
            return lambda data: fn(fns[0](data), fns[1](data))
        if name in ("<", "<=", ">", ">="):
            return _compare({"<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge}[name], fns)
        if name == "+":
            return _fold(op.add, fns)
        if name == "*":
            return _fold(op.mul, fns)
        if name == "-":
            return _fold(op.sub, fns) if len(fns) == 2 else (lambda data: -_number(fns[0](data)))
        if name == "/":
            return _divide(fns)
        if name == "%":
            return _fold(op.mod, fns)
        if name == "if":
            return _if(fns)
        if name == "and":
            return lambda data: all(f(data) for f in fns)
        if name == "or":
            return lambda data: any(f(data) for f in fns)
        if name == "!":
            return lambda data: not fns[0](data)
        return _date_part(0, 4, fns) if name == "year" else _date_part(5, 7, fns)

    return build(expr), frozenset(reads)


# Type-checking: python-jsonlogic's registry, plus the operators it does not ship.

@dataclass
class _Variadic(Operator):
    arguments: list

    @classmethod
    def from_expression(cls, operator: str, arguments: list):
        if not arguments:
            raise JSONLogicSyntaxError(f"{operator!r} expects at least one argument")
        return cls(operator=operator, arguments=arguments)

    def evaluate(self, context):
        raise LogicError("rules run as compiled closures (compile_logic), not through the tree")

    def typecheck(self, context: TypecheckContext) -> JSONSchemaType:
        for argument in self.arguments:
            get_type(argument, context)
        return BooleanType()


@dataclass
class _DatePart(_Variadic):
    def typecheck(self, context: TypecheckContext) -> JSONSchemaType:
        for argument in self.arguments:
            kind = get_type(argument, context)
            if kind.name not in ("date", "datetime", "any", "string"):
                context.add_diagnostic(f"{self.operator!r} memerlukan tanggal, bukan {kind.name}",
                                       "argument_type", self)
        return IntegerType()


_REGISTRY = operator_registry.copy(extend={"and": _Variadic, "or": _Variadic, "!": _Variadic,
                                           "year": _DatePart, "month": _DatePart})


def type_problems(expr: Any, data_schema: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``expr``: its operators, then what python-jsonlogic finds when it
    type-checks it against the schema of its data."""
    try:
        compile_logic(expr)
        tree = JSONLogicExpression.from_json(expr).as_operator_tree(_REGISTRY)
    except LogicError as exc:
        return [str(exc)]
    except JSONLogicSyntaxError as exc:
        return [exc.message]
    except (TypeError, ValueError, KeyError, UnknownOperator) as exc:
        return [str(exc)]
    if not isinstance(tree, Operator):
        return []
    _, diagnostics = typecheck(tree, dict(data_schema), settings={
        "reference_parser": DotReferenceParser(),
        "literal_casts": {dt.date.fromisoformat: DateType}})
    # An operand of unknown type ("any") follows from another finding, e.g. an unknown var.
    return [_in_bahasa(d) for d in diagnostics
            if d.type == "error" and not (d.category == "operator" and " any" in d.message)]


_TYPES = {"integer": "bilangan bulat", "number": "bilangan", "string": "teks", "boolean": "ya/tidak",
          "date": "tanggal", "any": "nilai tak tentu", "array": "daftar", "null": "kosong"}


def _in_bahasa(diagnostic: Any) -> str:
    message = diagnostic.message
    if diagnostic.category == "unresolvable_variable":
        return f"isian '{diagnostic.operator.variable_path}' tidak ada"
    if diagnostic.category == "operator" and " for types " in message:
        symbol = message.split('"')[1]
        kinds = message.split(" for types ")[1].split(" and ")
        named = " dan ".join(_TYPES.get(k.strip(), k.strip()) for k in kinds)
        return f"operasi '{symbol}' tidak dapat dipakai pada {named}"
    return message
