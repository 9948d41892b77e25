"""Iteration that checks the limits as it goes: long ranges (``range`` is lazy, but ``sum``,
``list`` and ``map`` iterate it in C, where no compiled-in check runs) and ``*`` unpacking,
``join`` and ``extend`` of an iterator."""

from __future__ import annotations

from .limits import check_allocation, current_budget

LAZY_RANGE = 100_000  # longer ranges check the limits as they are iterated
CONTAINERS = (str, bytes, list, tuple, dict, set, frozenset)


class _LongRange:
    """A ``range`` longer than LAZY_RANGE: iterating it checks the limits (``sum``, ``list``,
    ``map`` … iterate in C, where no compiled-in check runs)."""

    __slots__ = ("_r",)

    def __init__(self, r: range):
        self._r = r

    def __iter__(self):
        budget = current_budget()
        for value in self._r:
            if budget is not None:
                budget.tick()
            yield value

    def __reversed__(self):
        return iter(_LongRange(self._r[::-1]))

    def __len__(self):
        n = len(self._r)
        check_allocation(n * 8)  # list(), tuple() and extend() allocate len() slots up front
        return n

    def __contains__(self, value):
        if type(value) in (int, bool):
            return value in self._r
        return any(value == x for x in self)

    def __getitem__(self, index):
        item = self._r[index]
        return _range_of(item) if isinstance(item, range) else item

    def __eq__(self, other):
        return isinstance(other, _LongRange) and self._r == other._r

    def __hash__(self):
        return hash(self._r)

    def __repr__(self):
        return repr(self._r)

    @property
    def start(self):
        return self._r.start

    @property
    def stop(self):
        return self._r.stop

    @property
    def step(self):
        return self._r.step

    def count(self, value):
        return self._r.count(value) if type(value) in (int, bool) else sum(
            1 for x in self if x == value)

    def index(self, value):
        return self._r.index(value)


def is_long_range(value) -> bool:
    """Whether ``value`` is the checking stand-in for a range longer than LAZY_RANGE."""
    return type(value) is _LongRange


def _range_of(r: range):
    try:
        long = len(r) > LAZY_RANGE
    except OverflowError:
        long = True
    return _LongRange(r) if long else r


def guarded_range(*args):
    return _range_of(range(*args))


def guarded_star(iterable):
    """``*iterable`` in a display or a call, ``join`` and ``extend`` of an iterator: check the
    limits as it is consumed (containers only have their size checked)."""
    if isinstance(iterable, CONTAINERS):
        if len(iterable) > LAZY_RANGE:
            check_allocation(len(iterable) * 8)
        return iterable
    return _ticking(iterable)


def _ticking(iterable):
    budget = current_budget()
    for value in iterable:
        if budget is not None:
            budget.tick()
        yield value
