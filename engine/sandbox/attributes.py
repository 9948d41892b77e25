"""``guarded_getattr``: the attributes diagram code may read (an allowlist of methods of plain
data), and the string and list methods that may allocate a lot, checked before they run."""

from __future__ import annotations

from .iteration import guarded_star, is_long_range
from .limits import char_size, check_allocation, reject

_STR_METHODS = frozenset(
    "capitalize casefold count endswith find index isalnum isalpha isascii isdecimal isdigit "
    "isidentifier islower isnumeric isprintable isspace istitle isupper lower lstrip partition "
    "removeprefix removesuffix rfind rindex rpartition rstrip startswith strip swapcase title "
    "upper encode".split())
_BYTES_METHODS = (_STR_METHODS - {"casefold", "encode", "isdecimal", "isidentifier",
                                  "isnumeric", "isprintable"}) | {"decode", "hex"}
_GROWING_STR_METHODS = frozenset(
    "center ljust rjust zfill expandtabs replace join split rsplit splitlines".split())
_NUMBER_ATTRS = frozenset("real imag conjugate bit_length bit_count as_integer_ratio "
                          "is_integer numerator denominator".split())
_LIST_METHODS = frozenset("append clear copy count index insert pop remove reverse sort".split())
_DICT_METHODS = frozenset("clear copy get items keys pop popitem setdefault update values"
                          .split())
_SET_METHODS = frozenset(
    "add clear copy difference difference_update discard intersection intersection_update "
    "isdisjoint issubset issuperset pop remove symmetric_difference "
    "symmetric_difference_update union update".split())
_FROZENSET_METHODS = frozenset(
    "copy difference intersection isdisjoint issubset issuperset symmetric_difference union"
    .split())

_ALLOWED = {
    str: _STR_METHODS,
    bytes: _BYTES_METHODS,
    int: _NUMBER_ATTRS,
    bool: _NUMBER_ATTRS,
    float: _NUMBER_ATTRS | {"hex"},
    complex: _NUMBER_ATTRS,
    list: _LIST_METHODS,
    tuple: frozenset({"count", "index"}),
    dict: _DICT_METHODS,
    set: _SET_METHODS,
    frozenset: _FROZENSET_METHODS,
    range: frozenset({"start", "stop", "step", "count", "index"}),
}
# On the types themselves: their plain methods (``sorted(names, key=str.lower)``) and a few
# constructors.
_TYPE_EXTRA = {dict: frozenset({"fromkeys"}), str: frozenset({"maketrans"})}


def guarded_getattr(obj, name, *default):
    """``obj.name`` for diagram code (``_getattr_``)."""
    if type(name) is not str:
        raise TypeError("属性名必须是字符串")
    if name.startswith("_"):
        reject(f"不允许访问以下划线开头的属性：{name}")
    kind = type(obj)
    allowed = _ALLOWED.get(kind)
    if allowed is not None and name in allowed:
        return getattr(obj, name, *default)
    if kind is list and name == "extend":
        return _list_extend(obj)
    if (kind is str or kind is bytes) and name in _GROWING_STR_METHODS:
        return _growing_str_method(obj, name)
    if name in _RANGE_ATTRS and is_long_range(obj):
        return getattr(obj, name)
    if name == "args" and isinstance(obj, BaseException):
        return obj.args
    if isinstance(obj, type) and obj in _ALLOWED and (
            name in _ALLOWED[obj] or name in _TYPE_EXTRA.get(obj, ())):
        return getattr(obj, name, *default)
    if name in ("format", "format_map") and (kind is str or obj is str):
        reject(f"不允许使用 str.{name}（格式化字段可以读取对象的属性）")
    if not hasattr(obj, name):
        return getattr(obj, name, *default)  # AttributeError, as Python would say
    what = obj.__name__ if isinstance(obj, type) else f"{kind.__name__} 对象"
    reject(f"不允许访问 {what}的属性 {name}")


_RANGE_ATTRS = frozenset({"start", "stop", "step", "count", "index"})


def _growing_str_method(obj, name: str):
    method = getattr(obj, name)
    size = char_size(obj)

    if name in ("center", "ljust", "rjust", "zfill"):
        def padded(width, *fill):
            if isinstance(width, int):
                check_allocation(width * size)
            return method(width, *fill)
        return padded

    if name == "expandtabs":
        def expanded(tabsize=8):
            if isinstance(tabsize, int) and tabsize > 0:
                check_allocation((len(obj) + obj.count(_tab(obj)) * tabsize) * size)
            return method(tabsize)
        return expanded

    if name == "replace":
        def replaced(old, new, count=-1):
            if isinstance(old, type(obj)) and isinstance(new, type(obj)) and len(new) > len(old):
                hits = obj.count(old) if old else len(obj) + 1
                if count is not None and count >= 0:
                    hits = min(hits, count)
                check_allocation((len(obj) + hits * (len(new) - len(old))) * 4)
            return method(old, new, count)
        return replaced

    if name == "join":
        def joined(iterable):
            items = iterable if isinstance(iterable, list | tuple) else list(guarded_star(iterable))
            total = len(obj) * max(len(items) - 1, 0)
            for item in items:
                if isinstance(item, str | bytes):
                    total += len(item)
            check_allocation(total * 4)
            return method(items)
        return joined

    # split, rsplit, splitlines: a list of new strings
    def split(*args, **kwargs):
        sep = args[0] if args else kwargs.get("sep")
        if name == "splitlines":
            pieces = obj.count(_newline(obj)) + 1
        elif sep:
            pieces = obj.count(sep) + 1 if isinstance(sep, type(obj)) else 1
        else:
            pieces = len(obj) // 2 + 1
        check_allocation(pieces * 64)
        return method(*args, **kwargs)
    return split


def _tab(obj):
    return b"\t" if isinstance(obj, bytes) else "\t"


def _newline(obj):
    return b"\n" if isinstance(obj, bytes) else "\n"


def _list_extend(lst: list):
    def extend(iterable):
        if isinstance(iterable, list | tuple | str | dict | set | frozenset):
            check_allocation((len(lst) + len(iterable)) * 8)
            return lst.extend(iterable)
        return lst.extend(guarded_star(iterable))
    return extend
