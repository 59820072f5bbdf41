from __future__ import annotations

import pytest

from koppel.mapper.domain.valuemaps import ValueMaps

from .samples import VALUE_MAPS


@pytest.fixture
def maps() -> ValueMaps:
    return ValueMaps.from_documents(VALUE_MAPS)
