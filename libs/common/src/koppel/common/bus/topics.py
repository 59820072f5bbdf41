"""AMQP topic matching for the in-memory exchange: ``*`` is one word, ``#`` zero or more.

Words are the dot-separated parts of a key; a wildcard is only one when it is a whole word
(``order_*`` is the literal word ``order_*``, as on RabbitMQ).
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def topic_matches(pattern: str, routing_key: str) -> bool:
    return _match(tuple(pattern.split(".")), tuple(routing_key.split(".")))


def _match(pattern: tuple[str, ...], key: tuple[str, ...]) -> bool:
    # Table of "pattern[i:] matches key[j:]", filled from the ends backwards.
    rows, cols = len(pattern), len(key)
    ok = [[False] * (cols + 1) for _ in range(rows + 1)]
    ok[rows][cols] = True
    for i in range(rows - 1, -1, -1):
        word = pattern[i]
        for j in range(cols, -1, -1):
            if word == "#":
                ok[i][j] = ok[i + 1][j] or (j < cols and ok[i][j + 1])
            elif j < cols and (word == "*" or word == key[j]):
                ok[i][j] = ok[i + 1][j + 1]
    return ok[0][0]
