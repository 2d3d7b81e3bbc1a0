"""``to_dict`` for components that keep each ``__init__`` parameter as a same-named attribute."""

from __future__ import annotations

import inspect
from typing import Any

from haystack import default_to_dict


def init_parameters_to_dict(component: Any) -> dict[str, Any]:
    """
    Serialize exactly the ``__init__`` parameters of ``component``, so a new parameter can never be forgotten.

    ``Secret`` values serialize through their own ``to_dict`` (an environment-variable reference, never the value);
    the inverse is Haystack's ``default_from_dict``.
    """
    names = [name for name in inspect.signature(type(component).__init__).parameters if name != "self"]
    return default_to_dict(component, **{name: getattr(component, name) for name in names})
