"""Partial-response field masks (the ``fields`` query parameter).

Supports ``a,b.c``, ``a/b/c``, ``files(id,name)``, nested parentheses and ``*``.
A mask is parsed into a tree: ``{"files": {"id": True, "name": True}}``;
``True`` means "the whole value".
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

Mask = Dict[str, Union[bool, "Mask"]]


class FieldMaskError(ValueError):
    pass


def _merge(tree: Dict[str, Any], path: List[str], sub: Union[bool, Dict[str, Any]]) -> None:
    node = tree
    for i, key in enumerate(path):
        last = i == len(path) - 1
        if last:
            if sub is True:
                node[key] = True
            else:
                existing = node.get(key)
                if existing is True:
                    return
                if existing is None:
                    node[key] = {}
                for k, v in sub.items():
                    _merge(node[key], [k], v)
            return
        nxt = node.get(key)
        if nxt is True:
            return
        if nxt is None:
            nxt = node[key] = {}
        node = nxt


def parse(text: Optional[str]) -> Optional[Mask]:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    tree, pos = _parse_list(text, 0)
    if pos != len(text):
        raise FieldMaskError(text)
    return tree


def _parse_list(text: str, pos: int):
    tree: Dict[str, Any] = {}
    while pos < len(text):
        start = pos
        while pos < len(text) and text[pos] not in ",()":
            pos += 1
        path_text = text[start:pos].strip()
        path = [p for p in path_text.replace("/", ".").split(".") if p]
        sub: Union[bool, Dict[str, Any]] = True
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise FieldMaskError(text)
            pos += 1
            while pos < len(text) and text[pos] == " ":
                pos += 1
        if path:
            _merge(tree, path, sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == ")":
            return tree, pos
    return tree, pos


def apply(value: Any, mask: Union[bool, Mask, None]) -> Any:
    if mask is None or mask is True:
        return value
    if "*" in mask and mask["*"] is True:
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            out = dict(value)
            for k, sub in mask.items():
                if k != "*" and k in value and sub is not True:
                    out[k] = apply(value[k], sub)
            return out
        return value
    if isinstance(value, list):
        return [apply(v, mask) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, sub in mask.items():
            if key in value:
                out[key] = apply(value[key], sub)
        return out
    return value


def selects(mask: Optional[Mask], path: List[str]) -> bool:
    """Does the mask select anything at or below ``path``?  (None selects all.)"""
    if mask is None:
        return True
    node: Any = mask
    for key in path:
        if node is True:
            return True
        if "*" in node:
            return True
        if key not in node:
            return False
        node = node[key]
    return True


def subtree(mask: Optional[Mask], path: List[str]) -> Union[bool, Mask, None]:
    if mask is None:
        return None
    node: Any = mask
    for key in path:
        if node is True:
            return True
        if key not in node:
            return {} if "*" not in node else True
        node = node[key]
    return node
