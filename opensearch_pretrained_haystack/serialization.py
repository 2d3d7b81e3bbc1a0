"""``to_dict``/``from_dict`` for components that keep each ``__init__`` parameter as a same-named attribute."""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from haystack import default_from_dict, default_to_dict

T = TypeVar("T", bound="InitParametersSerialization")


class InitParametersSerialization:
    """
    Serialize exactly the ``__init__`` parameters, so a new parameter can never be forgotten in ``to_dict``.

    ``Secret`` values serialize through their own ``to_dict`` (an environment-variable reference, never the value).
    """

    def to_dict(self) -> dict[str, Any]:
        """
        Serialize the component's ``__init__`` parameters.

        :returns: The dictionary Haystack's ``default_to_dict`` makes.
        """
        names = [name for name in inspect.signature(type(self).__init__).parameters if name != "self"]
        return default_to_dict(self, **{name: getattr(self, name) for name in names})

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """
        Build the component from its serialized parameters.

        :param data: What ``to_dict`` returned.
        :returns: The component.
        """
        return default_from_dict(cls, data)
