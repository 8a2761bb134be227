"""Imported by the fork server (`warehouse.dbt`, FORK_SERVER_ENV) before it forks any dbt command:
compiles dbt's serializers there once, so no forked command compiles them again.

dbt's artifact classes (the manifest, its nodes, run results) are mashumaro dataclasses compiled
lazily: each class's `to_dict` / `from_dict` / msgpack code is generated on its first use, in every
new process. A dbt command reads the partial-parse manifest and writes manifest.json and
run_results.json, so each forked command spent about 0.55 s generating the same code (py-spy: a
quarter of a small `dbt run`). Calling each method once here, on an empty input that fails
after the code is generated, leaves the generated code in the server's classes, which every
fork inherits. Nothing else is touched: a class whose code cannot be generated here is left to
generate it on first use, as without this module.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from typing import Any

# dbt's modules that define the artifact classes a command reads and writes
MODULES = ("dbt.contracts.graph.manifest", "dbt.contracts.graph.nodes", "dbt.contracts.files",
           "dbt.contracts.graph.unparsed", "dbt.artifacts.schemas.run",
           "dbt.artifacts.schemas.manifest", "dbt.artifacts.resources")


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    todo = [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


def warm() -> int:
    """Generate the serializers of every dbt artifact class; the number of classes tried."""
    for name in MODULES:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    from dbt_common.dataclass_schema import dbtClassMixin

    classes = _subclasses(dbtClassMixin)
    for cls in classes:
        try:  # no fields: the generated code fails on it, after it is generated
            empty: Any = object.__new__(cls)
        except TypeError:  # an abstract class
            continue
        for method, argument in (("from_dict", {}), ("to_dict", empty),
                                 ("from_msgpack", b"\x80"), ("to_msgpack", empty)):
            function: Callable[[Any], object] | None = getattr(cls, method, None)
            if function is not None:
                with contextlib.suppress(Exception):
                    function(argument)
    return len(classes)


WARMED = warm()
