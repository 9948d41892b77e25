"""The operator guards: ``+ * % ** << //``, in-place operators, f-string and ``format()``
widths, ``%``-formatting, and the number builtins (``pow``, ``round``, ``divmod``, ``sum``),
each estimated before the one C call that would allocate or compute too much."""

from __future__ import annotations

import operator
import re

from .iteration import CONTAINERS, LAZY_RANGE, guarded_star
from .limits import (
    BIG_ALLOCATION,
    MAX_INT_BITS,
    char_size,
    check_allocation,
    current_budget,
    refuse_big_number,
    reject,
)

_SIZED = (str, bytes, list, tuple)
_MAX_ROUND_DIGITS = 10_000


def _itemsize(seq) -> int:
    return 8 if isinstance(seq, list | tuple) else char_size(seq)


def _check_ints(*values) -> None:
    for v in values:
        if type(v) is int and v.bit_length() > MAX_INT_BITS:
            refuse_big_number()


def guarded_add(a, b):
    ta = type(a)
    if ta is int or ta is float:
        return a + b
    if ta in _SIZED and type(b) is ta:
        n = len(a) + len(b)
        if n > LAZY_RANGE:
            check_allocation(n * _itemsize(a))
    return a + b


def guarded_mul(a, b):
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            refuse_big_number()
        return a * b
    if ta is float or tb is float:
        return a * b
    if tb is int or tb is bool:
        seq, n = a, b
    elif ta is int or ta is bool:
        seq, n = b, a
    else:
        return a * b
    if isinstance(seq, _SIZED) and n > 1:
        check_allocation(len(seq) * n * _itemsize(seq))
    return a * b


def guarded_pow(a, b, mod=None):
    if mod is not None:
        _check_ints(a, b, mod)
        return pow(a, b, mod)
    if type(a) in (int, bool) and type(b) in (int, bool) and b > 0 and a not in (0, 1, -1):
        if b > MAX_INT_BITS or abs(a).bit_length() * b > MAX_INT_BITS:
            refuse_big_number()
    elif type(a) is int or type(b) is int:
        _check_ints(a, b)
    return a ** b


def guarded_lshift(a, b):
    if type(a) in (int, bool) and type(b) in (int, bool) and a and b > 0:
        if b > MAX_INT_BITS or a.bit_length() + b > MAX_INT_BITS:
            refuse_big_number()
    return a << b


def guarded_floordiv(a, b):
    _check_ints(a, b)
    return a // b


_SPEC_NUMBERS = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(rb"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def guarded_mod(a, b):
    ta = type(a)
    if ta is int or ta is float:
        _check_ints(a, b)
        return a % b
    if ta is str or ta is bytes:
        _check_percent(a, b)
    return a % b


def _check_percent(fmt, args) -> None:
    """%-formatting: widths and precisions (written or given by ``*``), and the arguments
    repeated by many conversions."""
    raw = fmt.encode("utf-8", "replace") if isinstance(fmt, str) else fmt
    if b"%" not in raw:
        return
    values = args if isinstance(args, tuple) else (args,)
    biggest = 0
    stars = False
    conversions = 0
    for match in _PERCENT_SPEC.finditer(raw):
        conversions += 1
        for group in match.groups():
            if group == b"*":
                stars = True
            elif group:
                biggest = max(biggest, int(group[:12]))
    if stars:
        for value in values:
            if type(value) is int:
                biggest = max(biggest, abs(value))
    longest = max((len(v) for v in values if isinstance(v, str | bytes)), default=0)
    check_allocation((len(raw) + conversions * (biggest + longest)) * 4)


def _check_spec(spec) -> None:
    """A format spec's width/precision (``f"{x:>{n}}"``, ``format(x, spec)``)."""
    if isinstance(spec, str) and spec:
        for number in _SPEC_NUMBERS.findall(spec):
            if len(number) > 7 or int(number) > BIG_ALLOCATION:
                check_allocation(int(number[:12]) * 4)


def format_value(value, conversion: int, spec):
    """f-string ``{value!conversion:spec}`` once the spec is known."""
    if conversion == 115:
        value = str(value)
    elif conversion == 114:
        value = repr(value)
    elif conversion == 97:
        value = ascii(value)
    _check_spec(spec)
    return format(value, spec)


def guarded_format(value, spec=""):
    _check_spec(spec)
    return format(value, spec)


_INPLACE = {
    "+=": (operator.iadd, guarded_add),
    "-=": (operator.isub, None),
    "*=": (operator.imul, guarded_mul),
    "/=": (operator.itruediv, None),
    "%=": (operator.imod, guarded_mod),
    "**=": (operator.ipow, guarded_pow),
    "<<=": (operator.ilshift, guarded_lshift),
    ">>=": (operator.irshift, None),
    "|=": (operator.ior, None),
    "^=": (operator.ixor, None),
    "&=": (operator.iand, None),
    "//=": (operator.ifloordiv, guarded_floordiv),
    "@=": (operator.imatmul, None),
}


def guarded_inplace(op: str, target, value):
    """``x op= y`` (``_inplacevar_``): the operator's guard, then the operation."""
    inplace, guard = _INPLACE[op]
    if type(target) is list and op in ("+=", "*="):
        # a list changes in place: check its growth, keep the in-place semantics
        if op == "*=":
            if type(value) is int:
                check_allocation(len(target) * value * 8)
        elif isinstance(value, CONTAINERS):
            check_allocation((len(target) + len(value)) * 8)
        else:
            value = guarded_star(value)
        return inplace(target, value)
    if guard is not None:
        return guard(target, value)
    return inplace(target, value)


def guarded_sum(iterable, start=0):
    if isinstance(start, int | float | complex):
        return sum(iterable, start)
    total = start
    budget = current_budget()
    for value in iterable:
        if budget is not None:
            budget.tick()
        total = guarded_add(total, value)
    return total


def guarded_round(number, ndigits=None):
    if ndigits is not None and type(ndigits) is int and abs(ndigits) > _MAX_ROUND_DIGITS:
        reject(f"round() 的位数 {ndigits} 过大")
    _check_ints(number)
    return round(number, ndigits)


def guarded_divmod(a, b):
    _check_ints(a, b)
    return divmod(a, b)
