"""Make the embedded emulator's DynamoDB queries, and its routing of each request, cost
what they should.

moto (5.x) answers every Query and Scan by sorting the whole table, comparing items
with ``DynamoType.__lt__``, which recomputes each value (a ``Decimal`` for numbers) on
every comparison: about 130,000 such comparisons for 10,000 items, some 0.3-0.5 s per
query, whatever the page size. AWS reads only the partition asked for. Here the same
sorts get a key computed once per item (the type and the plain value), so Python
compares plain values: the same order, about ten times faster.

Applied only by ``emulator.start_server`` (the embedded local stack), never on AWS, and
only when moto's table still has the two methods with the shapes this was written for;
otherwise moto is left exactly as it is. Must not change what any query returns
(tests/unit/test_emulator_speed.py compares both).

The server also lists moto's package folder (some 200 ``isdir`` calls) on every request,
under the lock all its request threads share, to learn which names are services: a list
that cannot change while the process runs. ``speed_up_dispatch`` keeps it.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

_MARK = "_auto_lambda_plain_sort"


def _plain(value: Any) -> tuple[Any, ...]:
    """A DynamoType as a sort key with the order moto's ``__lt__`` gives (values of one
    attribute have one type, so the type only separates what moto would not compare)."""
    if value is None:
        return ()
    return (str(value.type), value.cast_value)


def speed_up_queries() -> bool:
    """Patch moto's table sorts once; True if they are (now) patched."""
    try:
        from moto.dynamodb.models.table import Table
    except ImportError:
        return False
    if getattr(Table.all_items, _MARK, False):
        return True
    if not (callable(getattr(Table, "all_items", None))
            and callable(getattr(Table, "sorted_items", None))
            and callable(getattr(Table, "_generate_attr_to_sort_by", None))):
        log.info("moto's Table changed shape: its queries are left as they are")
        return False

    def all_items(self: Any) -> list[Any]:
        items: list[Any] = []
        for hash_set in self.items.values():
            if self.range_key_attr:
                items.extend(hash_set.values())
            else:
                items.append(hash_set)
        return sorted(items, key=lambda x: (_plain(x.hash_key), _plain(x.range_key)))

    def sorted_items(self: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None],
                     items: list[Any]) -> list[Any]:
        attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        items.sort(key=lambda x: tuple(_plain(x.attrs.get(a)) for a in attrs))
        return items

    setattr(all_items, _MARK, True)
    setattr(sorted_items, _MARK, True)
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.sorted_items = sorted_items  # type: ignore[method-assign]
    return True


_SERVICES_MARK = "_auto_lambda_listed_once"


def speed_up_dispatch() -> bool:
    """Have moto's server list its service packages once per process, not per request;
    True if it does (now). The same names, as a frozenset for the ``in`` it is used for."""
    try:
        from moto import backends
    except ImportError:
        return False
    listing = getattr(backends, "list_of_moto_modules", None)
    if listing is None:
        log.info("moto's backends changed shape: its request routing is left as it is")
        return False
    if getattr(listing, _SERVICES_MARK, False):
        return True
    names = frozenset(listing())

    def list_of_moto_modules() -> frozenset[str]:
        return names

    setattr(list_of_moto_modules, _SERVICES_MARK, True)
    list_of_moto_modules.__wrapped__ = listing  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules
    return True
