"""Strict mode: check every request against Google's published discovery documents.

The discovery documents for Sheets v4 and Drive v3 are read at run time from the
installed ``google-api-python-client`` package
(``googleapiclient/discovery_cache/documents/{sheets.v4,drive.v3}.json``); they are
not copied into the repository.  The package is located with ``importlib.util.find_spec``
and is never imported, so the emulator itself stays standard-library only.

What is checked (each failure is Google's 400, in the answering API's own error shape):

- the method, by HTTP verb + path template (``flatPath``/``path``, plus the media
  upload paths of Drive);
- query parameters: unknown names (other than the system parameters every Google
  API accepts), and the type of each value (booleans, integers and their range,
  enums);
- the JSON body against the method's ``request`` schema, recursively through
  ``$ref``: unknown field names, wrong JSON types, bad enum values, and Sheets'
  ``Request`` / ``ExtendedValue`` oneofs (exactly one kind set);
- the ``fields`` partial-response mask (``a,b(c,d),e/f``, ``*``) against the
  method's ``response`` schema.

Error texts follow what Google answers (ESF for Sheets, e.g. ``Invalid JSON payload
received. Unknown name "foo" at 'requests[0].update_cells': Cannot find field.``;
Drive's ``errors: [{domain, reason, ...}]`` list for Drive).
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import threading
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from .errors import ApiError

# System parameters every Google API accepts (https://cloud.google.com/apis/docs/system-parameters);
# the discovery documents list most of them, userIp is the legacy one they no longer list.
STANDARD_PARAMS = {"alt", "fields", "key", "prettyPrint", "quotaUser", "access_token", "upload_protocol",
                   "uploadType", "callback", "$.xgafv", "oauth_token", "userIp"}

DOC_FILES = {"sheets": "sheets.v4.json", "drive": "drive.v3.json"}

# Sheets methods whose JSON body is bound to one field of the RPC request message
# (the field named in Google's error paths, e.g. "Invalid value at 'data.values'").
BODY_FIELD = {
    "sheets.spreadsheets.values.update": "data",
    "sheets.spreadsheets.values.append": "data",
    "sheets.spreadsheets.create": "spreadsheet",
}

# oneofs the discovery format cannot express: schema -> (oneof name, its members or None = all properties)
ONEOFS = {
    "sheets": {
        "Request": ("kind", None),
        "ExtendedValue": ("value", ("numberValue", "stringValue", "boolValue", "formulaValue", "errorValue")),
    },
}

_TYPE_NAMES = {
    ("string", None): "TYPE_STRING",
    ("string", "byte"): "TYPE_BYTES",
    ("string", "int64"): "TYPE_INT64",
    ("string", "uint64"): "TYPE_UINT64",
    ("string", "google-fieldmask"): "type.googleapis.com/google.protobuf.FieldMask",
    ("string", "google-datetime"): "type.googleapis.com/google.protobuf.Timestamp",
    ("string", "google-duration"): "type.googleapis.com/google.protobuf.Duration",
    ("string", "date-time"): "TYPE_STRING",
    ("integer", "int32"): "TYPE_INT32",
    ("integer", "uint32"): "TYPE_UINT32",
    ("integer", None): "TYPE_INT32",
    ("number", "double"): "TYPE_DOUBLE",
    ("number", "float"): "TYPE_FLOAT",
    ("number", None): "TYPE_DOUBLE",
    ("boolean", None): "TYPE_BOOL",
    ("any", None): "type.googleapis.com/google.protobuf.Value",
}

# proto enum type names where they differ from the field name
ENUM_TYPES = {"majorDimension": "Dimension", "dimension": "Dimension",
              "responseValueRenderOption": "ValueRenderOption",
              "responseDateTimeRenderOption": "DateTimeRenderOption",
              "insertDataOption": "AppendValuesRequest.InsertDataOption"}

_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _enum_type(field_name: str) -> str:
    name = ENUM_TYPES.get(field_name) or (field_name[:1].upper() + field_name[1:])
    return f"type.googleapis.com/google.apps.sheets.v4.{name}"


class StrictUnavailable(RuntimeError):
    """The discovery documents cannot be found (google-api-python-client is not installed)."""


def snake(name: str) -> str:
    """camelCase -> snake_case, as Google's ESF names proto fields in error paths."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _discovery_dir() -> str:
    spec = importlib.util.find_spec("googleapiclient")
    if spec is None or not spec.submodule_search_locations:
        raise StrictUnavailable(
            "strict mode needs Google's discovery documents from the google-api-python-client package "
            "(pip install google-api-python-client==2.202.0, listed in requirements-dev.txt); it is not installed")
    for base in spec.submodule_search_locations:
        path = os.path.join(base, "discovery_cache", "documents")
        if all(os.path.isfile(os.path.join(path, f)) for f in DOC_FILES.values()):
            return path
    raise StrictUnavailable("google-api-python-client is installed but lacks "
                            "discovery_cache/documents/sheets.v4.json and drive.v3.json")


class Method:
    __slots__ = ("api", "id", "verb", "regex", "literal", "params", "request", "response")

    def __init__(self, api, mid, verb, regex, literal, params, request, response):
        self.api, self.id, self.verb, self.regex, self.literal = api, mid, verb, regex, literal
        self.params, self.request, self.response = params, request, response


def _template_regex(template: str) -> Tuple["re.Pattern[str]", int]:
    out, literal, pos = [], 0, 0
    for m in re.finditer(r"\{(\+?)([^}]+)\}", template):
        text = template[pos:m.start()]
        out.append(re.escape(text))
        literal += len(text)
        out.append(f"(?P<{re.sub(r'[^A-Za-z0-9_]', '_', m.group(2))}>" + (".+" if m.group(1) else "[^/]+") + ")")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    literal += len(template) - pos
    return re.compile("^" + "".join(out) + "$"), literal


class Api:
    def __init__(self, name: str, doc: Dict[str, Any]):
        self.name = name
        self.doc = doc
        self.schemas: Dict[str, Any] = doc.get("schemas", {})
        self.global_params: Dict[str, Any] = doc.get("parameters", {})
        self.methods: List[Method] = []
        prefix = "/" + (doc.get("servicePath") or "")
        self._walk(doc, prefix)
        # every query parameter some method of this API declares
        self.any_method_params = {n for m in self.methods for n, spec in m.params.items()
                                  if spec.get("location") == "query"}

    def _walk(self, node: Dict[str, Any], prefix: str) -> None:
        for m in (node.get("methods") or {}).values():
            templates = {prefix + m["path"]}
            if m.get("flatPath"):
                templates.add(prefix + m["flatPath"])
            for proto in ((m.get("mediaUpload") or {}).get("protocols") or {}).values():
                if proto.get("path"):
                    templates.add(proto["path"] if proto["path"].startswith("/") else "/" + proto["path"])
            for t in templates:
                rx, literal = _template_regex(t)
                self.methods.append(Method(self.name, m["id"], m["httpMethod"], rx, literal, m.get("parameters") or {},
                                           (m.get("request") or {}).get("$ref"),
                                           (m.get("response") or {}).get("$ref")))
        for sub in (node.get("resources") or {}).values():
            self._walk(sub, prefix)

    def match(self, verb: str, path: str) -> Tuple[Optional[Method], bool]:
        """(method, path_known): the method for verb+path; path_known when another verb would match."""
        best, known = None, False
        for m in self.methods:
            if not m.regex.match(path):
                continue
            known = True
            if m.verb == verb and (best is None or m.literal > best.literal):
                best = m
        return best, known

    def resolve(self, schema: Dict[str, Any]) -> Dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 50:
            schema = self.schemas.get(schema["$ref"], {})
            seen += 1
        return schema


_LOCK = threading.Lock()
_APIS: Optional[Dict[str, Api]] = None


def load() -> Dict[str, Api]:
    """Both discovery documents, parsed once per process.  Raises StrictUnavailable."""
    global _APIS
    with _LOCK:
        if _APIS is None:
            base = _discovery_dir()
            apis = {}
            for name, fname in DOC_FILES.items():
                with open(os.path.join(base, fname), encoding="utf-8") as fh:
                    apis[name] = Api(name, json.load(fh))
            _APIS = apis
        return _APIS


# --------------------------------------------------------------------------- errors

class _Violation:
    """One problem found; ``kind`` is "unknown" (unknown names) or "value" (bad type/enum)."""

    def __init__(self, kind: str, message: str, field: Optional[str] = None, location: Optional[str] = None):
        self.kind, self.message, self.field, self.location = kind, message, field, location


def _sheets_error(violations: List[_Violation], message: Optional[str] = None) -> ApiError:
    fv = []
    for v in violations:
        item: Dict[str, Any] = {}
        if v.field:
            item["field"] = v.field
        item["description"] = v.message
        fv.append(item)
    return ApiError(400, message or "\n".join(v.message for v in violations), "INVALID_ARGUMENT",
                    details=[{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": fv}])


def _drive_error(violations: List[_Violation], reason: str, message: Optional[str] = None) -> ApiError:
    errors = []
    for v in violations:
        item: Dict[str, Any] = {"message": v.message, "domain": "global", "reason": reason}
        if v.location:
            item["location"] = v.location
            item["locationType"] = "parameter"
        errors.append(item)
    return ApiError(400, message or errors[0]["message"], status=None, errors=errors)


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return "{...}" if isinstance(value, dict) else "[...]"


# --------------------------------------------------------------------------- checker

class Checker:
    """Checks one request; ``check`` returns an ApiError for Google's 400, or None."""

    def __init__(self, apis: Dict[str, Api]):
        self.apis = apis

    @classmethod
    def create(cls) -> "Checker":
        return cls(load())

    def family_of(self, path: str) -> Optional[str]:
        if path.startswith("/v4/"):
            return "sheets"
        if path.startswith("/drive/v3/") or path.startswith("/upload/drive/v3/"):
            return "drive"
        return None

    def match(self, verb: str, path: str) -> Optional[Method]:
        fam = self.family_of(path)
        if fam is None:
            return None
        api = self.apis[fam]
        m, _ = api.match(verb, path)
        if m is None and path.endswith("/") and len(path) > 1:
            m, _ = api.match(verb, path.rstrip("/"))
        return m

    def check(self, verb: str, path: str, query: str, body: Any, body_is_json: bool) -> Optional[ApiError]:
        """Google's 400 for this request, or None when Google would accept it."""
        return self.check_and_normalise(verb, path, query, body, body_is_json)[0]

    def check_and_normalise(self, verb: str, path: str, query: str, body: Any, body_is_json: bool,
                            notes: Optional[List[str]] = None) -> Tuple[Optional[ApiError], Any]:
        """(error or None, the body as Google's proto3 JSON parser reads it: integers given as
        strings or integral floats become ints, numeric strings numbers, enum numbers names).
        ``notes`` collects what Google accepts but ignores (Drive's unknown body fields...)."""
        notes = notes if notes is not None else []
        method = self.match(verb, path)
        if method is None:
            return None, body  # the router answers 404 for paths Google does not serve
        api = self.apis[method.api]
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        err = self._check_params(api, method, pairs, notes)
        if err is not None:
            return err, body
        if method.request and body_is_json and body is not None:
            err, body = self._check_body(api, method, body, notes)
            if err is not None:
                return err, body
        fields_values = [v for k, v in pairs if k == "fields"]
        if fields_values and method.response:
            err = self._check_fields(api, method, fields_values[-1])
            if err is not None:
                return err, body
        return None, body

    # query parameters --------------------------------------------------------
    def _param_spec(self, api: Api, method: Method, name: str) -> Optional[Dict[str, Any]]:
        spec = method.params.get(name)
        if spec is not None:
            return spec
        spec = api.global_params.get(name)
        if spec is not None:
            return spec
        if name in STANDARD_PARAMS:
            return {"type": "string", "location": "query"}
        return None

    def _check_params(self, api: Api, method: Method, pairs: List[Tuple[str, str]],
                      notes: List[str]) -> Optional[ApiError]:
        unknown = []
        for name, value in pairs:
            spec = self._param_spec(api, method, name)
            if spec is None and api.name == "drive" and name in api.any_method_params:
                # Drive v3 ignores a parameter that belongs to another of its methods: gspread sends
                # includeItemsFromAllDrives on files.get and Google answers 200 (recorded cassettes)
                notes.append(f"{method.id}: query parameter {name} (not a parameter of this method; ignored)")
                continue
            if spec is None:
                if name not in unknown:
                    unknown.append(name)
                continue
            problem = self._param_value_problem(api, name, value, spec)
            if problem is not None:
                return problem
        given = {n for n, _ in pairs}
        for name, spec in method.params.items():
            if spec.get("required") and spec.get("location") == "query" and name not in given:
                msg = f"Required parameter: {name}"
                if api.name == "drive":
                    return _drive_error([_Violation("value", msg, location=name)], "required")
                return _sheets_error([_Violation("value", msg, field=snake(name))])
        if unknown:
            vs = [_Violation("unknown", f"Invalid JSON payload received. Unknown name \"{n}\": Cannot bind query "
                                        f"parameter. Field '{n}' could not be found in request message.",
                             location=n) for n in unknown]
            if api.name == "drive":
                return _drive_error(vs, "badRequest", vs[0].message if len(vs) == 1 else
                                    "\n".join(v.message for v in vs))
            return _sheets_error(vs)
        return None

    def _param_value_problem(self, api: Api, name: str, value: str, spec: Dict[str, Any]) -> Optional[ApiError]:
        ptype, enum = spec.get("type"), spec.get("enum")
        ok, regex_text = True, None
        if ptype == "boolean":
            ok = value.lower() in ("true", "false")
            regex_text = "(?i)true|false"
        elif ptype == "integer":
            ok = bool(_INT_RE.match(value))
            regex_text = "[+-]?\\d+"
        elif ptype == "number":
            ok = bool(_NUM_RE.match(value))
            regex_text = "[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?"
        elif enum:
            ok = value in enum
            regex_text = "|".join(enum)
        if api.name == "drive":
            if not ok:
                msg = f"Invalid value '{value}'. Values must match the following regular expression: '{regex_text}'"
                return _drive_error([_Violation("value", msg, location=name)], "invalidParameter")
            if ptype == "integer" and ("minimum" in spec or "maximum" in spec):
                n = int(value)
                lo, hi = spec.get("minimum"), spec.get("maximum")
                if (lo is not None and n < int(lo)) or (hi is not None and n > int(hi)):
                    msg = f"Invalid value '{value}'. Values must be within the range: [{lo}, {hi}]"
                    return _drive_error([_Violation("value", msg, location=name)], "invalidParameter")
            return None
        if not ok:
            if enum:
                tname = _enum_type(name)
            else:
                tname = _TYPE_NAMES.get((ptype, spec.get("format")), "TYPE_STRING")
            field = snake(name)
            msg = f"Invalid value at '{field}' ({tname}), {json.dumps(value, ensure_ascii=False)}"
            return _sheets_error([_Violation("value", msg, field=field)])
        return None

    # body ----------------------------------------------------------------------
    def _check_body(self, api: Api, method: Method, body: Any, notes: List[str]) -> Tuple[Optional[ApiError], Any]:
        root = BODY_FIELD.get(method.id, "")
        found: List[_Violation] = []
        normal = self._walk(api, body, {"$ref": method.request}, root, "", "", found, element=False)
        if api.name == "drive":
            # Drive v3 ignores body fields it does not know: gspread's share() sends the v2-era
            # "withLink" to permissions.create and Google creates the permission.
            for v in [v for v in found if v.kind == "unknown"]:
                notes.append(f"{method.id}: {v.message.replace('Invalid JSON payload received. ', '')} "
                             f"(ignored by Drive)")
            found = [v for v in found if v.kind != "unknown"]
        if not found:
            return None, normal
        if api.name == "drive":
            return _drive_error(found, "badRequest", "\n".join(v.message for v in found)), body
        return _sheets_error(found), body

    def _type_name(self, api: Api, schema: Dict[str, Any], field_name: str) -> str:
        """Google's name for the type a field expects (the element type for repeated fields)."""
        if "$ref" in schema:
            target = api.resolve(schema)
            if target.get("type") not in (None, "object"):
                return self._type_name(api, target, field_name)
            pkg = "google.apps.sheets.v4" if api.name == "sheets" else "google.apps.drive.v3"
            return f"type.googleapis.com/{pkg}.{schema['$ref']}"
        if schema.get("enum"):
            return _enum_type(field_name)
        stype = schema.get("type")
        if stype == "array":
            items = schema.get("items") or {}
            if items.get("type") == "array":
                return "type.googleapis.com/google.protobuf.ListValue"
            return self._type_name(api, items, field_name)
        if stype == "object" and "additionalProperties" in schema:
            return "type.googleapis.com/google.protobuf.Struct"
        return _TYPE_NAMES.get((stype, schema.get("format")), "TYPE_STRING")

    def _walk(self, api: Api, value: Any, schema: Dict[str, Any], at: str, parent: str, key: str,
              found: List[_Violation], element: bool) -> Any:
        """Check ``value`` against ``schema`` and return it normalised; ``at`` is its path in
        Google's snake_case form, ``parent`` the path of the enclosing message and ``key`` its
        JSON name there."""
        if value is None:
            return None  # JSON null = field not set (proto3 JSON)
        ref = schema.get("$ref")
        target = api.resolve(schema) if ref else schema
        stype = target.get("type")

        def bad(type_name: Optional[str] = None) -> Any:
            tname = type_name or self._type_name(api, schema, key)
            msg = f"Invalid value at '{at}' ({tname}), {_shown(value)}"
            found.append(_Violation("value", msg, field=at or None))
            return value

        def not_repeating() -> Any:
            where = f" at '{parent}'" if parent else ""
            msg = f"Invalid JSON payload received. Unknown name \"{key}\"{where}: Proto field is not repeating, " \
                  f"cannot start list."
            found.append(_Violation("value", msg, field=parent or None))
            return value

        if stype == "any":
            return value
        if stype == "array":
            if not isinstance(value, list):
                return bad("type.googleapis.com/google.protobuf.ListValue" if element else None)
            items = target.get("items") or {}
            return [self._walk(api, item, items, f"{at}[{i}]", parent, key, found, element=True)
                    for i, item in enumerate(value)]
        if isinstance(value, list):
            return bad() if element else not_repeating()
        if stype == "object" or (ref and stype is None):
            if not isinstance(value, dict):
                return bad()
            props = target.get("properties")
            if props is None and "additionalProperties" in target:
                return {k: self._walk(api, v, target["additionalProperties"], f"{at}[{k}]" if at else k, at, k,
                                      found, element=False) for k, v in value.items()}
            props = props or {}
            oneof = ONEOFS.get(api.name, {}).get(ref or "")
            if oneof is not None:
                members = oneof[1] or tuple(props)
                chosen = [k for k in value if k in members and value[k] is not None]
                if ref == "Request" and not [k for k in value if value[k] is not None]:
                    found.append(_Violation("value", f"Invalid {at or 'request'}: No request set.", field=at or None))
                    return value
                if len(chosen) > 1:
                    found.append(_Violation(
                        "value", f"Invalid JSON payload received. Oneof field '{oneof[0]}' is already set. "
                                 f"Cannot set '{chosen[1]}'", field=at or None))
            out = {}
            for k, v in value.items():
                prop = props.get(k)
                if prop is None:
                    where = f" at '{at}'" if at else ""
                    found.append(_Violation("unknown", f"Invalid JSON payload received. Unknown name \"{k}\"{where}: "
                                                       f"Cannot find field.", field=at or None))
                    continue
                out[k] = self._walk(api, v, prop, f"{at}.{snake(k)}" if at else snake(k), at, k, found, element=False)
            return out
        # scalars
        if isinstance(value, dict):
            msg = f"Invalid value at '{parent}' ({snake(key)}), Starting an object on a scalar field" if parent \
                else f"Invalid value ({snake(key)}), Starting an object on a scalar field"
            found.append(_Violation("value", msg, field=parent or None))
            return value
        fmt = target.get("format")
        normal = value
        if stype == "string":
            if target.get("enum"):
                if isinstance(value, bool):
                    ok = False
                elif isinstance(value, int):
                    ok = 0 <= value < len(target["enum"])
                    if ok:
                        normal = target["enum"][value]
                else:
                    ok = isinstance(value, str) and value in target["enum"]
            elif fmt in ("int64", "uint64"):
                ok = (isinstance(value, int) and not isinstance(value, bool)) or \
                     (isinstance(value, str) and bool(_INT_RE.match(value.strip())))
            else:
                ok = isinstance(value, str)
        elif stype == "integer":
            if isinstance(value, bool):
                ok = False
            elif isinstance(value, int):
                ok = True
            elif isinstance(value, float):
                ok = math.isfinite(value) and value == int(value)
            elif isinstance(value, str):
                ok = bool(_INT_RE.match(value.strip()))
            else:
                ok = False
            if ok:
                normal = int(value.strip()) if isinstance(value, str) else int(value)
            if ok and fmt == "uint32":
                ok = normal >= 0
        elif stype == "number":
            if isinstance(value, bool):
                ok = False
            elif isinstance(value, (int, float)):
                ok = True
            elif isinstance(value, str):
                ok = bool(_NUM_RE.match(value.strip())) or value in ("NaN", "Infinity", "-Infinity")
                if ok:
                    normal = float(value)
                    if normal == int(normal) if math.isfinite(normal) else False:
                        normal = int(normal)
            else:
                ok = False
        elif stype == "boolean":
            ok = isinstance(value, bool)
        else:
            ok = True
        if not ok:
            return bad()
        return normal

    # fields masks ---------------------------------------------------------------
    def _check_fields(self, api: Api, method: Method, text: str) -> Optional[ApiError]:
        try:
            paths = parse_mask_paths(text, strip=api.name == "drive")
        except ValueError:
            if api.name == "drive":
                return _drive_error([_Violation("value", f"Invalid field selection {text}", location="fields")],
                                    "invalidParameter")
            return _sheets_error([_Violation("value", f"Invalid field selection {text}", field="fields")],
                                 "Request contains an invalid argument.")
        root = {"$ref": method.response}
        for path in paths:
            bad = self._mask_path_problem(api, root, path)
            if bad is not None:
                if api.name == "drive":
                    return _drive_error([_Violation("value", f"Invalid field selection {bad[-1]}",
                                                    location="fields")], "invalidParameter")
                shown = ".".join(path)  # Google names the whole path it could not expand
                return _sheets_error([_Violation("value", "Error expanding 'fields' parameter. Cannot find matching "
                                                          f"fields for path '{shown}'.", field=text)],
                                     "Request contains an invalid argument.")
        return None

    def _mask_path_problem(self, api: Api, schema: Dict[str, Any], path: List[str]) -> Optional[List[str]]:
        node = schema
        for i, seg in enumerate(path):
            node = api.resolve(node)
            while node.get("type") == "array":
                node = api.resolve(node.get("items") or {})
            if seg == "*":
                return None
            if node.get("type") == "any":
                return None
            props = node.get("properties")
            if props is None and "additionalProperties" in node:
                node = node["additionalProperties"]  # a map: any key
                continue
            if not props or seg not in props:
                return path[:i + 1]
            node = props[seg]
        return None


def parse_mask_paths(text: str, strip: bool = True) -> List[List[str]]:
    """``a,b(c,d),e/f`` -> [[a], [b, c], [b, d], [e, f]].  Sheets (strip=False) keeps
    whitespace inside names, as Google's Sheets frontend does (``a, b`` names `` b``)."""
    paths: List[List[str]] = []

    def parse_list(pos: int, prefix: List[str]) -> int:
        while True:
            start = pos
            while pos < len(text) and text[pos] not in ",()":
                pos += 1
            name = text[start:pos]
            if strip:
                name = name.strip()
            segs = [s for s in re.split(r"[/.]", name)] if name else []
            if any(s == "" for s in segs):
                raise ValueError(text)
            if pos < len(text) and text[pos] == "(":
                if not segs:
                    raise ValueError(text)
                pos = parse_list(pos + 1, prefix + segs)
                if pos >= len(text) or text[pos] != ")":
                    raise ValueError(text)
                pos += 1
                if strip:
                    while pos < len(text) and text[pos] == " ":
                        pos += 1
            elif segs:
                paths.append(prefix + segs)
            elif not (strip and not name.strip()):
                raise ValueError(text)
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            return pos

    end = parse_list(0, [])
    if end != len(text):
        raise ValueError(text)
    return paths
