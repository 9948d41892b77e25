"""The names diagram code runs with: the safe builtins, the names RestrictedPython's compiled
code calls (getattr, getitem, write, iteration and operator guards), and the namespace of one
evaluation."""

from __future__ import annotations

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from .attributes import guarded_getattr
from .iteration import CONTAINERS, guarded_range, guarded_star
from .limits import Budget, check_allocation, reject, tick
from .operators import (
    format_value,
    guarded_add,
    guarded_divmod,
    guarded_floordiv,
    guarded_format,
    guarded_inplace,
    guarded_lshift,
    guarded_mod,
    guarded_mul,
    guarded_pow,
    guarded_round,
    guarded_sum,
)


def _getitem(obj, index):
    return obj[index]


def _apply(func, *args, **kwargs):
    return func(*args, **kwargs)


class _ListWriter:
    """``lst[a:b] = values`` may grow a list by any amount in one C call: check it."""

    __slots__ = ("_lst",)

    def __init__(self, lst):
        self._lst = lst

    def __setitem__(self, key, value):
        if isinstance(key, slice):
            if isinstance(value, CONTAINERS):
                check_allocation((len(self._lst) + len(value)) * 8)
            else:
                value = list(guarded_star(value))
        self._lst[key] = value

    def __delitem__(self, key):
        del self._lst[key]


def guarded_write(obj):
    """``_write_``: item writes on the dicts and lists diagram code holds; nothing else."""
    kind = type(obj)
    if kind is dict:
        return obj
    if kind is list:
        return _ListWriter(obj)
    reject(f"不允许修改 {kind.__name__} 对象（只能给字典和列表的元素赋值）")


# ---------------------------------------------------------------------------- builtins

_SAFE_BUILTIN_NAMES = (
    "abs all any bool dict enumerate filter float frozenset int isinstance "
    "issubclass len list map max min next repr reversed set slice sorted str "
    "tuple zip ValueError KeyError TypeError Exception AttributeError IndexError LookupError "
    "ZeroDivisionError ArithmeticError True False None"
).split()


def _builtins() -> dict:
    import builtins

    names = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
    names.update({
        "range": guarded_range,
        "pow": guarded_pow,
        "round": guarded_round,
        "divmod": guarded_divmod,
        "sum": guarded_sum,
        "format": guarded_format,
    })
    return names


SAFE_BUILTINS = _builtins()

# The names compiled code calls (RestrictedPython's and ours); diagram code cannot name them
# (names starting with "_" are refused) nor shadow them (they are set after the task data).
RESTRICTED_NAMES = {
    "__builtins__": SAFE_BUILTINS,
    "_getattr_": guarded_getattr,
    "_getitem_": _getitem,
    "_getiter_": iter,  # loops check the limits in their body
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": guarded_write,
    "_inplacevar_": guarded_inplace,
    "_apply_": _apply,
    "_add_": guarded_add,
    "_mul_": guarded_mul,
    "_mod_": guarded_mod,
    "_floordiv_": guarded_floordiv,
    "_pow_": guarded_pow,
    "_lshift_": guarded_lshift,
    "_format_value_": format_value,
    "_star_": guarded_star,
    "_tick_": tick,
}


def namespace(helpers: dict, external: dict | None, data: dict, budget: Budget) -> dict:
    """Globals of one evaluation: helpers, then data, then the restricted names."""
    ns = dict(helpers)
    if external:
        ns.update(external)
    ns.update(data)
    ns.update(RESTRICTED_NAMES)
    ns["_tick_"] = budget.tick
    return ns
