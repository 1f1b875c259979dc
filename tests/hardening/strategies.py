"""Hypothesis strategies for hostile input: malformed JSON, wrong types, broken base64, one-field mutations.

The mutations start from a valid body and change one place in it, so a request gets past every check but one
and the tests reach deep into validation instead of bouncing at the first check.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from toolkit.errors import ErrorCode

ERROR_CODES = frozenset(code.value for code in ErrorCode)

Path = tuple[str, ...]


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


# Text that has broken parsers, databases and JSON encoders before.
NASTY_TEXT = [
    "",
    " ",
    "\t\n",
    "\x00",
    "a\x00b",
    "\ud800",  # an unpaired surrogate: valid in JSON text, not encodable as UTF-8
    "x\udfffy",
    "\u202e\u0000",
    "²",  # str.isdigit() is true, int() refuses it
    "١٢٣",  # Arabic-Indic digits: int() accepts them
    "\U0001d7d7",  # MATHEMATICAL BOLD DIGIT NINE
    "0",
    "-1",
    "1e400",
    "null",
    "true",
    "[]",
    "{}",
    "%00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "ALICE",
    "alice ",
    "é" * 40,
    "9" * 5000,  # more digits than int() converts by default
]

# Lengths around every limit the validators know (names, keys, bodies).
HUGE_LENGTHS = [2, 3, 31, 32, 33, 43, 44, 63, 64, 65, 80, 81, 200, 201, 4096, 6000, 70_000]


def texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(max_size=40),
        st.sampled_from(HUGE_LENGTHS).map(lambda n: "A" * n),
    )


def integers() -> st.SearchStrategy[int]:
    edges = [0, 1, -1, 599_999, 600_000, 10_000_001, 2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63), 10**30]
    return st.one_of(st.sampled_from(edges), st.integers())


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    integers(),
    st.floats(),  # NaN and the infinities included: Python's json writes and reads them
    texts(),
)

json_values = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def deep_nesting() -> st.SearchStrategy[str]:
    """Nesting deep enough to exhaust a recursive parser (and a little less)."""
    return st.builds(
        lambda depth, opener: opener * depth,
        st.sampled_from([50, 900, 5_000, 60_000]),
        st.sampled_from(["[", '{"a":', '{"envelope":']),
    )


def raw_bodies() -> st.SearchStrategy[bytes]:
    """Request bodies that are not one valid JSON object."""
    return st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.sampled_from(
            [
                b"",
                b"null",
                b"[]",
                b'"text"',
                b"42",
                b"NaN",
                b"{",
                b'{"a":}',
                b"\xff\xfe{}",
                b"\xef\xbb\xbf{}",
                b'{"username": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8: not UTF-8
                b"1" * 5000,
                b" " * 70_000,
            ]
        ),
        json_values.map(lambda value: json.dumps(value).encode()),
        deep_nesting().map(str.encode),
    )


# --- one-field mutations of a valid body -------------------------------------------


def paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every place in a JSON object: each key of each nested object."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))


def object_paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """The objects inside ``value``, itself included (where an unexpected field can go)."""
    if isinstance(value, dict):
        yield prefix
        for key, child in value.items():
            yield from object_paths(child, (*prefix, key))


def get_at(body: dict[str, Any], path: Path) -> Any:
    for key in path:
        body = body[key]
    return body


def _decoded_length(value: str) -> int | None:
    try:
        return len(base64.b64decode(value, validate=True))
    except ValueError:
        return None


def bad_base64(value: str) -> st.SearchStrategy[str]:
    """Text that looks like the base64 ``value`` but is not strict, padded, standard base64."""
    return st.one_of(
        st.just(value[:-1] or "A"),  # broken padding
        st.just(value.rstrip("=")),
        st.just(value + "="),
        st.just(value[:4] + " " + value[4:]),
        st.just(value[:4] + "\n" + value[4:]),
        st.just(value.replace("A", "-").replace("B", "_") + "-_"),  # URL-safe alphabet
        st.just("*" + value[1:]),
        st.just("é" + value[1:]),
        st.just("====" + value),
        st.text(alphabet="ABCabc+/=!-_ ", min_size=1, max_size=60),
    )


def replacements(current: Any) -> st.SearchStrategy[Any]:
    """Values to put where ``current`` was: wrong types, edge values, and near misses of the right type."""
    near: list[st.SearchStrategy[Any]] = []
    if isinstance(current, str):
        length = _decoded_length(current)
        if length is not None and current:
            near += [
                # valid base64 of the wrong length
                st.integers(0, 2 * length + 20)
                .filter(lambda n: n != length)
                .flatmap(lambda n: st.binary(min_size=n, max_size=n))
                .map(b64),
                # the right length, other bytes: bad signatures, keys that are not curve points
                st.binary(min_size=length, max_size=length).map(b64),
                bad_base64(current),
            ]
        near += [texts(), st.just(current.upper()), st.just(current + current)]
    elif isinstance(current, bool):
        near.append(st.just(not current))
    elif isinstance(current, int):
        near += [
            integers(),
            st.sampled_from([current - 1, current + 1, -current, current * 1000]),
            st.just(float(current)),
        ]
        near.append(st.just(str(current)))
    elif isinstance(current, list) and current:
        # Lists of ids: out of order, repeated, emptied, one too many, of the wrong element type.
        near += [
            st.just(current[::-1]),
            st.just(current + current[-1:]),
            st.just([]),
            st.just(current * 200),
            st.just([True, *current[1:]]),
            st.just([str(item) for item in current]),
            st.just([0, *current[1:]]),
        ]
    elif isinstance(current, dict):
        near += [
            st.just({}),
            st.just([current]),
            st.just(list(current.values())),
            st.just(json.dumps(current)),
        ]
    return st.one_of(*near, json_values)


@st.composite
def mutated(draw: st.DrawFn, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``body`` with one change: a field deleted, replaced or null, or an unexpected field added.

    Returns a label (for the failure message) and the new body; ``body`` itself is not changed.
    """
    result = copy.deepcopy(body)
    kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "null", "extra"]))
    if kind == "extra":
        where = draw(st.sampled_from(list(object_paths(result))))
        name = draw(st.text(max_size=20) | st.sampled_from(["__proto__", "id", "is_staff", "user", "username"]))
        target = get_at(result, where)
        target[name] = draw(json_values)
        return f"extra {'.'.join((*where, name))}", result
    path = draw(st.sampled_from(list(paths(result))))
    parent, key = get_at(result, path[:-1]), path[-1]
    if kind == "delete":
        del parent[key]
    elif kind == "null":
        parent[key] = None
    else:
        parent[key] = draw(replacements(parent[key]))
    return f"{kind} {'.'.join(path)}", result


def examples(max_examples: int) -> settings:
    """Reproducible runs (derandomized, no example database in the tree) of a bounded size."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
