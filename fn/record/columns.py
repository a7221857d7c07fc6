"""Checked records as columns: what the request path encodes, prices, ranges and warns about in
one numpy pass per step for a batch. A single record (the usual request), or a batch of at most
FEW, is checked by check_record and carried as its cleaned dicts: each step reads them in Python
floats, a fraction of the arrays' fixed cost, and the arrays are made only if something asks.

`check` gives the same verdict as fn/record/features.check_record on every record, at a batch's
pace: the rules (fn/record/fields.py) are applied to whole columns, and a record they cannot
pass at once (a wrong type, a value out of range, an unknown field, a float NaN) is checked
again by check_record itself, which finds its problems in the words the API answers with. So the
reasons live once, in features.py, and a valid batch, the usual request, never pays for them.
tests/test_features.py holds the two to the same answer on random records.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from fn.record.features import check_record, check_records, refuse
from fn.record.fields import ALTERNATIVE, CATEGORICAL, FLAGS, KNOWN, MAX_TEXT, NEW_PRICE, NUMERIC, YES_NO

NAMES = tuple(f.name for f in NUMERIC)
NEW = NAMES.index(ALTERNATIVE[NEW_PRICE.name])  # normalized_new_price's column
_NUMBERED = (*FLAGS, *NAMES)
_numbered = itemgetter(*_NUMBERED)  # a cleaned record's flags and numbers, in one call
_names = itemgetter(*NAMES)
_flags = itemgetter(*FLAGS)
_KEYS = (*CATEGORICAL, *_NUMBERED)  # a cleaned record's, in its order
_NONE = type(None)
_NUMBERS = frozenset((int, float, _NONE))  # what a numeric field may hold (bool is no number)
_LOW = np.array([f.low for f in NUMERIC])
_HIGH = np.array([f.high for f in NUMERIC])
_IF_MISSING = np.array([math.nan if f.required else f.low for f in NUMERIC])  # a required field missing: refused
_FRACTIONAL = np.array([not f.integer for f in NUMERIC])
# A batch of at most FEW rows is checked, ranged and warned about row by row, as one record is: below
# it the arrays' fixed cost (a few µs a numpy call, and a pass per range cell) is more than the rows'
# own (scripts/bench_ratios.py measures a FEW-row batch beside one record and a large one).
FEW = 8
# `positive` adds nothing to a range whose low end is above zero (every such field's today)
_POSITIVE = [i for i, f in enumerate(NUMERIC) if f.positive and f.low <= 0]


@dataclass
class Columns:
    """Cleaned records, a column per field: the values check_record's cleaned dicts hold."""

    brand: list[str]  # stripped
    os: list[str]  # stripped
    # (flags, numbers, money), or None until first read when `cleaned` holds the records:
    # flags (n, len(FLAGS)) 0.0 or 1.0; numbers (n, len(NUMERIC)), NaN where an optional field was
    # not sent; money (n,), new_price as sent, NaN where it was not
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    cleaned: list[dict[str, Any]] | None = None  # the dicts these were made of, if any (record() hands them back)

    def __len__(self) -> int:
        return len(self.brand)

    # The arrays of cleaned dicts are made when first read: one record (the usual request) is
    # encoded, priced and answered from its dict, and never needs them.
    @property
    def flags(self) -> np.ndarray:
        return self._arrays()[0]

    @property
    def numbers(self) -> np.ndarray:
        return self._arrays()[1]

    @property
    def money(self) -> np.ndarray:
        return self._arrays()[2]

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.arrays is None:
            records = self.cleaned or []
            # flags, numbers and the money in one array (one call), each a view of its columns
            values = np.array([(*_numbered(r), r.get(NEW_PRICE.name)) for r in records],
                              dtype=np.float64).reshape(len(records), len(_NUMBERED) + 1)
            self.arrays = values[:, :len(FLAGS)], values[:, len(FLAGS):-1], values[:, -1]
        return self.arrays

    def field(self, name: str) -> np.ndarray | list[str]:
        """One field's column."""
        if name in CATEGORICAL:
            return self.brand if name == CATEGORICAL[0] else self.os
        if name in FLAGS:
            return self.flags[:, FLAGS.index(name)]
        return self.numbers[:, NAMES.index(name)]

    def record(self, i: int) -> dict[str, Any]:
        """Row i as check_record cleans it (numbers as floats, missing optional numbers None)."""
        return self.cleaned[i] if self.cleaned is not None else self.records([i])[0]

    def records(self, rows: list[int]) -> list[dict[str, Any]]:
        """Those rows as record() gives each, the arrays read once for all of them."""
        if self.cleaned is not None:
            return [self.cleaned[i] for i in rows]
        out = []
        numbers = self.numbers[rows]
        for i, flags, values, missing, money in zip(rows, self.flags[rows].tolist(), numbers.tolist(),
                                                    np.isnan(numbers).any(axis=1).tolist(), self.money[rows].tolist(),
                                                    strict=True):
            record = dict(zip(_KEYS, (self.brand[i], self.os[i], *flags, *values), strict=True))
            if missing:
                record.update((name, None) for name, v in zip(NAMES, values, strict=True) if v != v)
            if money == money:
                record[NEW_PRICE.name] = money
            out.append(record)
        return out

    @classmethod
    def of(cls, records: list[dict[str, Any]] | Columns) -> Columns:
        """Cleaned records (check_record's dicts, training rows) as columns; Columns as they are."""
        if isinstance(records, Columns):
            return records
        return cls([r[CATEGORICAL[0]] for r in records], [r[CATEGORICAL[1]] for r in records], None, records)


def first(records: list[dict[str, Any]] | Columns) -> dict[str, Any]:
    """The first record as its cleaned dict holds it (one record: no arrays)."""
    return records.record(0) if isinstance(records, Columns) else records[0]


def dicts(records: list[dict[str, Any]] | Columns) -> list[dict[str, Any]]:
    """Every record as its cleaned dict holds it (a FEW-row batch's steps read them row by row)."""
    if not isinstance(records, Columns):
        return records
    return records.cleaned if records.cleaned is not None else records.records(list(range(len(records))))


def field(records: list[dict[str, Any]] | Columns, name: str) -> np.ndarray | list[str]:
    """One field's values, from Columns or from cleaned dicts (which may hold only the fields asked for)."""
    if isinstance(records, Columns):
        return records.field(name)
    values = [r[name] for r in records]
    return values if name in CATEGORICAL else np.array(values, dtype=np.float64)


def _text(value: Any) -> str:
    """A categorical value cleaned, or "" where check_record would refuse it."""
    return value.strip() if type(value) is str and len(value) <= MAX_TEXT else ""


def _flag(value: Any) -> float | None:
    """A flag as 0.0 or 1.0, or None where check_record would refuse it."""
    if type(value) is bool:
        return float(value)
    return YES_NO.get(value.strip().lower()) if type(value) is str else None


def _each(values: list[Any], clean: Callable[[Any], Any], kinds: set[type]) -> list[Any]:
    """clean(value) for each value, worked out once per distinct value when every value is of one of
    `kinds` (hashable, and no two of them equal across kinds): a batch repeats a few words ("yes",
    "Android") a thousand times."""
    if set(map(type, values)) <= kinds:
        cleaned = {value: clean(value) for value in set(values)}
        return list(map(cleaned.__getitem__, values))
    return [clean(value) for value in values]


def _float(value: int | float | None) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an integer of 310 digits or more: out of every range
        return math.inf


def check(records: list[Any], batch: bool = True) -> Columns:
    """Every record checked, as columns; raises ValidationError listing every bad row, as
    features.check_records does (rows numbered from 1 in a batch, None for a single record)."""
    n = len(records)
    if n <= FEW:  # one record (the usual request) or a few: check_record alone costs less than the arrays' pass
        return Columns.of(check_records(records, batch))
    # plain: a dict of known fields only (every record of the usual batch: told in two C passes)
    every = set(map(type, records)) == {dict} and all(map(KNOWN.issuperset, records))
    plain = [True] * n if every else [type(r) is dict and r.keys() <= KNOWN for r in records]
    rows = records if all(plain) else [r if ok else {} for r, ok in zip(records, plain, strict=True)]
    brand = _each([r.get(CATEGORICAL[0]) for r in rows], _text, {str})
    system = _each([r.get(CATEGORICAL[1]) for r in rows], _text, {str})
    try:  # both flags sent (the usual batch): each record's in one call
        flags_sent = list(chain.from_iterable(map(_flags, rows)))
    except KeyError:
        flags_sent = [r.get(name) for r in rows for name in FLAGS]
    flag_list = _each(flags_sent, _flag, {str, bool})
    flags = np.array(flag_list, dtype=np.float64).reshape(n, len(FLAGS))
    try:  # every number field sent (the usual batch): each record's in one call
        sent = list(chain.from_iterable(map(_names, rows)))
    except KeyError:
        sent = [r.get(name) for r in rows for name in NAMES]
    money_sent = [r.get(NEW_PRICE.name) for r in rows]
    wrong_type = np.zeros(n, dtype=bool)
    kinds, money_kinds = set(map(type, sent)), set(map(type, money_sent))
    if not kinds | money_kinds <= _NUMBERS:
        for i, r in enumerate(rows):
            if any(type(r.get(name)) not in _NUMBERS for name in (*NAMES, NEW_PRICE.name)):
                wrong_type[i] = True
                sent[i * len(NAMES):(i + 1) * len(NAMES)] = [None] * len(NAMES)
                money_sent[i] = None
        kinds, money_kinds = set(map(type, sent)), set(map(type, money_sent))
    try:
        numbers = np.array(sent, dtype=np.float64).reshape(n, len(NAMES))
        money = np.array(money_sent, dtype=np.float64).reshape(n)
    except OverflowError:
        numbers = np.array([_float(v) for v in sent], dtype=np.float64).reshape(n, len(NAMES))
        money = np.array([_float(v) for v in money_sent], dtype=np.float64).reshape(n)
    missing = np.isnan(numbers)
    priced = money_kinds != {_NONE}  # new_price sent in some row
    # counting the Nones compares every value: only when some are there (the usual batch has none)
    if np.count_nonzero(missing) != (sent.count(None) if _NONE in kinds else 0) or (
            priced and np.count_nonzero(np.isnan(money)) != money_sent.count(None)):
        wrong_type |= missing.any(axis=1) | np.isnan(money)  # a float NaN sent: check_record says why
    # a missing optional field passes as its low end
    filled = np.where(missing, _IF_MISSING, numbers)
    fine = (filled >= _LOW) & (filled <= _HIGH) & ((np.floor(filled) == filled) | _FRACTIONAL)
    if _POSITIVE:
        fine[:, _POSITIVE] &= (numbers[:, _POSITIVE] > 0) | missing[:, _POSITIVE]
    if priced:  # new_price instead of its log: exactly one of the two, within its range
        priced = ~np.isnan(money)
        fine[:, NEW] = np.where(priced, missing[:, NEW] & (money >= NEW_PRICE.low) & (money <= NEW_PRICE.high)
                                & ((money > 0) | (not NEW_PRICE.positive)), fine[:, NEW])
        at = np.flatnonzero(priced & fine[:, NEW])
        numbers[at, NEW] = [math.log(v) for v in money[at].tolist()]
    if fine.all() and None not in flag_list and "" not in brand and "" not in system and not wrong_type.any() \
            and all(plain):
        suspect = []  # the usual request: every row passes at once
    else:
        good = fine.all(axis=1) & ~np.isnan(flags).any(axis=1) & ~wrong_type
        suspect = [i for i, ok in enumerate(good.tolist()) if not ok or not plain[i] or not brand[i] or not system[i]]
    columns = Columns(brand, system, (flags, numbers, money))
    problems = []
    for i in suspect:  # the slow path, for the rows the columns could not pass: the reasons, or a pass
        clean, found = check_record(records[i], i + 1 if batch else None)
        problems.extend(found)
        if not found:
            _put(columns, i, Columns.of([clean]))  # (a str subclass, say: what the columns could not tell)
    if problems:
        raise refuse(problems, n, batch)
    return columns


def _put(columns: Columns, i: int, row: Columns) -> None:
    columns.brand[i], columns.os[i] = row.brand[0], row.os[0]
    columns.flags[i], columns.numbers[i], columns.money[i] = row.flags[0], row.numbers[0], row.money[0]
