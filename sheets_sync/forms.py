"""Form definitions (Lampiran III) loaded from config/forms.yaml.

Column headers live only in that file; everything else refers to column keys.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

import yaml

from sheets_sync.config import CONFIG_DIR, ConfigError, yaml_error_text

FORMS_YAML = CONFIG_DIR / "forms.yaml"
TYPES = {"row_number", "text", "name", "date", "phone", "email", "choice", "address_email"}


def norm_header(text) -> str:
    """Header texts compare ignoring case, spaces and line breaks."""
    return re.sub(r"\s+", "", str(text or "")).casefold()


def norm_choice(text) -> str:
    """Choices compare ignoring case, runs of spaces and a trailing full stop."""
    t = re.sub(r"\s+", " ", str(text or "")).strip().casefold()
    t = re.sub(r"\s*([(),/])\s*", r"\1", t)
    return t.rstrip(". ")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    type: str
    required: bool = False
    if_missing: str | None = None  # status when empty: SALAH, PERIKSA or None
    prefilled: bool = False
    header_optional: bool = False
    person: bool = False
    aliases: tuple[str, ...] = ()
    rules: dict = field(default_factory=dict, hash=False, compare=False)

    def matches(self, header_text) -> bool:
        return norm_header(header_text) in self.names

    @property
    def names(self) -> frozenset:
        """Normalised header texts that mean this column (computed once)."""
        cached = self.__dict__.get("_names")
        if cached is None:
            cached = frozenset(norm_header(h) for h in (self.header, *self.aliases))
            object.__setattr__(self, "_names", cached)
        return cached


@dataclass(frozen=True)
class Form:
    key: str
    title: str
    sheet: str
    columns: tuple[Column, ...]
    sheet_aliases: tuple[str, ...] = ()
    complete: dict = field(default_factory=dict, hash=False, compare=False)
    at_least_one: tuple[str, ...] = ()
    email_domains: dict = field(default_factory=dict, hash=False, compare=False)  # for the typo check
    carry_over: bool = False      # rows live on into next season (`season new`); else emptied
    placeholders: frozenset = frozenset()   # normalised "none" words (forms.yaml `placeholders`)

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def of_type(self, *types: str) -> list[Column]:
        return [c for c in self.columns if c.type in types]

    def matches_sheet(self, title: str) -> bool:
        n = norm_header(title)
        return n == norm_header(self.sheet) or any(n == norm_header(a) for a in self.sheet_aliases)

    def sheet_candidates(self, titles) -> list[str]:
        """The tabs that may hold this form, the one to read first: its own name before an
        alias (the circular's table pasted as a tab 'Internal' in front of 'Pegawai' took
        its place, and every row typed in 'Pegawai' left the master), then tab order."""
        own = norm_header(self.sheet)
        exact = [t for t in titles if norm_header(t) == own]
        return exact + [t for t in titles if t not in exact and self.matches_sheet(t)]

    def sheet_in(self, titles) -> str | None:
        """The tab of `titles` that holds this form (sheet_candidates' first), or None."""
        return next(iter(self.sheet_candidates(titles)), None)


@dataclass(frozen=True)
class FormSet:
    forms: dict[str, Form]
    status_headers: dict[str, str]  # status / message / checked -> header text
    defaults: dict
    registry: dict = field(default_factory=dict)  # sheet + columns of "Daftar OPD"
    email_domains: dict = field(default_factory=dict)  # common (typo targets) / real
    obligations: tuple = ()   # the circular's other duties, tracked in the registry (dicts)
    rules: dict = field(default_factory=dict)  # the season rules (`aturan`) these forms were built with

    def __getitem__(self, key: str) -> Form:
        try:
            return self.forms[key]
        except KeyError:
            valid = ", ".join(self.forms)
            raise KeyError(f"formulir '{key}' tidak dikenal; pilihan: {valid}") from None

    def __iter__(self):
        return iter(self.forms.values())

    def resolve(self, text: str) -> str | None:
        """A form key from a key or tab name as staff may write it in the registry."""
        n = norm_header(text).replace("_", "")
        for f in self:
            if n == norm_header(f.key).replace("_", "") or f.matches_sheet(text):
                return f.key
        return None


def _column(raw: dict, defaults: dict, where: str) -> Column:
    ctype = raw.get("type")
    if ctype not in TYPES:
        raise ValueError(f"{where}: type '{ctype}' tidak dikenal; pilihan: {sorted(TYPES)}")
    rules = dict(defaults)
    rules.update(raw.get("rules") or {})
    if_missing = raw.get("if_missing") or ("SALAH" if raw.get("required") else None)
    return Column(
        key=raw["key"], header=str(raw["header"]), type=ctype,
        required=bool(raw.get("required")), if_missing=if_missing,
        prefilled=bool(raw.get("prefilled")), header_optional=bool(raw.get("header_optional")),
        person=bool(raw.get("person")), aliases=tuple(raw.get("aliases") or ()), rules=rules,
    )


def norm_placeholder(text: str) -> str:
    """Placeholders compare ignoring case, runs of spaces and surrounding full stops."""
    return " ".join(text.casefold().split()).strip(" .")


def parse_forms(data: dict, rules: dict | None = None) -> FormSet:
    """The forms of forms.yaml `data`; `rules` overrides its `aturan` (a settings
    file's season rules, already checked by config.py)."""
    defaults = data.get("defaults") or {}
    aturan = season_rules(data, rules)
    forms = {}
    placeholders = frozenset(norm_placeholder(str(p)) for p in data.get("placeholders") or ())
    for key, raw in (data.get("forms") or {}).items():
        raws = [_resolved(c, aturan, f"forms.{key}.{c.get('key')}") for c in raw["columns"]
                if not c.get("enabled_by") or aturan.get(c["enabled_by"])]
        cols = tuple(_column(c, defaults, f"forms.{key}.{c.get('key')}") for c in raws)
        keys = [c.key for c in cols]
        if len(set(keys)) != len(keys):
            raise ValueError(f"forms.{key}: kunci kolom ganda: {keys}")
        forms[key] = Form(
            key=key, title=raw.get("title", key), sheet=raw.get("sheet", key), columns=cols,
            sheet_aliases=tuple(raw.get("sheet_aliases") or ()),
            complete=_complete(raw, key, aturan),
            at_least_one=tuple(raw.get("at_least_one") or ()),
            email_domains=data.get("email_domains") or {}, placeholders=placeholders,
            carry_over=raw.get("carry_over") is True,
        )
    unknown = sorted(set(aturan.get("minimal_baris") or {}) - set(forms))
    if unknown:
        raise ConfigError(f"aturan.minimal_baris: formulir {', '.join(unknown)} tidak dikenal; "
                          f"pilihan: {', '.join(forms)}.")
    return FormSet(forms=forms, status_headers=dict(data["status_columns"]), defaults=defaults,
                   registry=data.get("registry") or {}, email_domains=data.get("email_domains") or {},
                   obligations=_obligations(data), rules=aturan)


def _obligations(data: dict) -> tuple:
    """forms.yaml `obligations`, each naming registry columns that exist."""
    keys = {c["key"] for c in (data.get("registry") or {}).get("columns") or ()}
    out = []
    for ob in data.get("obligations") or ():
        for k in ("key", "done", "short", "text"):
            if not ob.get(k):
                raise ValueError(f"obligations: '{k}' wajib diisi ({ob})")
        missing = [c for c in (ob["done"], ob.get("evidence")) if c and c not in keys]
        if missing:
            raise ValueError(f"obligations.{ob['key']}: kolom registry {', '.join(missing)} tidak ada")
        out.append(dict(ob))
    return tuple(out)


# ------------------------------------------------------------ season rules
def season_rules(data: dict, override: dict | None = None) -> dict:
    """forms.yaml's `aturan` with a settings file's `aturan` on top (key by key)."""
    out = dict(data.get("aturan") or {})
    out.update(override or {})
    return out


def _resolved(raw: dict, aturan: dict, where: str) -> dict:
    """A column whose rule values may say {aturan: name}: that season rule's value."""
    rules = raw.get("rules")
    if not rules or not any(isinstance(v, dict) and "aturan" in v for v in rules.values()):
        return raw
    out = dict(rules)
    for k, v in rules.items():
        if isinstance(v, dict) and "aturan" in v:
            if v["aturan"] not in aturan:
                raise ValueError(f"{where}.rules.{k}: aturan '{v['aturan']}' tidak ada di bagian aturan")
            out[k] = aturan[v["aturan"]]
    return {**raw, "rules": out}


def _complete(raw: dict, key: str, aturan: dict) -> dict:
    """A form's `complete` rule; aturan.minimal_baris {form key: rows} raises min_rows."""
    rule = dict(raw.get("complete") or {"min_rows": 1})
    minimum = (aturan.get("minimal_baris") or {}).get(key)
    if minimum and "min_rows" in rule:
        rule["min_rows"] = int(minimum)
    return rule


@lru_cache(maxsize=8)
def load_forms(path: str | None = None, rules: tuple = ()) -> FormSet:
    """`rules`: a settings file's season rules as sorted (key, value) pairs (hashable
    for the cache; values JSON text)."""
    with open(path or FORMS_YAML, encoding="utf-8") as f:
        source = f.read()
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as e:
        raise ConfigError(f"Berkas formulir {path or FORMS_YAML} tidak bisa dibaca (YAML), "
                          f"{yaml_error_text(e, source)}") from None
    return parse_forms(data, {k: json.loads(v) for k, v in rules})


def forms_for(settings) -> FormSet:
    """The forms a deployment uses: its settings' forms_file, else the bundled
    config/forms.yaml, with the settings' season rules (`aturan`). Every command and
    the cycle load forms through here."""
    rules = tuple(sorted((k, json.dumps(v, sort_keys=True, default=str))
                         for k, v in settings.aturan.items()))
    return load_forms(str(settings.forms_file) if settings.forms_file else None, rules)
