"""A Griffe extension for the API reference (mkdocs.yml): the docstrings' Sphinx roles
(:func:`name`, :class:`~devsim.x.Name`, ...) as Markdown code, ``name`` and ``Name``;
mkdocstrings would print the role as it is written."""

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc|const|file):`(~?)([^`]+)`")


def _code(match: re.Match) -> str:
    short, target = match.groups()
    return f"``{target.rsplit('.', 1)[-1] if short else target}``"


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_code, obj.docstring.value)
