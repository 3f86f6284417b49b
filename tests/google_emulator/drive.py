"""Drive API v3: files, permissions, changes, about."""
from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import fields
from .errors import ApiError, drive_error, drive_not_found
from .model import FOLDER_MIME, SPREADSHEET_MIME, DriveFile, State
from .sheets import new_spreadsheet, owner_permission, permission_id_for

DEFAULT_FILE_FIELDS = {"kind": True, "id": True, "name": True, "mimeType": True}
DEFAULT_PERMISSION_FIELDS = {"kind": True, "id": True, "type": True, "role": True}
ROLES = ("owner", "organizer", "fileOrganizer", "writer", "commenter", "reader")
TYPES = ("user", "group", "domain", "anyone")


def _param(params: Dict[str, List[str]], name: str) -> Optional[str]:
    vals = params.get(name)
    return vals[-1] if vals else None


def _bool(params, name: str, default: bool = False) -> bool:
    v = _param(params, name)
    if v is None:
        return default
    return v.lower() in ("true", "1", "yes")


def _invalid(message: str = "Invalid Value", location: Optional[str] = None) -> ApiError:
    return drive_error(400, message, "invalid", location=location)


def _mask(params, default):
    text = _param(params, "fields")
    if not text:
        return default
    try:
        return fields.parse(text) or default
    except fields.FieldMaskError:
        raise _invalid(f"Invalid field selection {text}", "fields")


def _user(state: State, who: Optional[Tuple[str, str]] = None) -> Dict[str, Any]:
    """A Drive User resource: the emulator's own user, or `who` (emailAddress, displayName);
    `me` says whether it is the user making this request."""
    email, name = who or (state.user_email, state.user_name)
    return {"kind": "drive#user", "displayName": name, "me": email.lower() == state.requester()[0].lower(),
            "permissionId": permission_id_for(email), "emailAddress": email}


def _supports_all_drives(params) -> bool:
    return _bool(params, "supportsAllDrives") or _bool(params, "supportsTeamDrives")


def _get_file(state: State, file_id: str, params=None, shared_ok: bool = False) -> DriveFile:
    """The file, or Drive's 404.  Items of a shared drive are found only when the request
    says supportsAllDrives=true (``shared_ok`` for methods without that parameter)."""
    if file_id == "root":
        file_id = state.root_id
    if file_id in state.denied:
        raise drive_not_found(file_id)
    visible = shared_ok or (params is not None and _supports_all_drives(params))
    if file_id in state.drives:
        if not visible:
            raise drive_not_found(file_id)
        return _drive_root(state, file_id)
    f = state.files.get(file_id)
    if f is None:
        if file_id == state.root_id:
            return _root(state)
        raise drive_not_found(file_id)
    if not visible and state.drive_of(f) is not None:
        raise drive_not_found(file_id)
    return f


def _drive_root(state: State, drive_id: str) -> DriveFile:
    d = state.drives[drive_id]
    f = DriveFile(drive_id, d["name"], FOLDER_MIME, [], d["createdTime"])
    return f


def _root(state: State) -> DriveFile:
    f = DriveFile(state.root_id, "My Drive", FOLDER_MIME, [], "1970-01-01T00:00:00.000Z")
    f.permissions = [owner_permission(state)]
    return f


def web_link(f: DriveFile) -> str:
    if f.mime_type == SPREADSHEET_MIME:
        return f"https://docs.google.com/spreadsheets/d/{f.id}/edit?usp=drivesdk"
    if f.mime_type == FOLDER_MIME:
        return f"https://drive.google.com/drive/folders/{f.id}"
    return f"https://drive.google.com/file/d/{f.id}/view?usp=drivesdk"


def permission_json(p: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in p.items() if v is not None}


def file_json(state: State, f: DriveFile, lagged: bool = False) -> Dict[str, Any]:
    """The full Drive file resource.  ``lagged``: version/modifiedTime as Drive shows them
    with the drive_lag_s switch (files.get and files.list)."""
    user = _user(state)
    version, modified, who = state.visible_change(f) if lagged else (f.version, f.modified_time, f.modifier)
    mine = f.modified_by.get(state.requester()[0])   # when the requester last changed it, if ever
    drive_id = f.id if f.id in state.drives else state.drive_of(f)
    out: Dict[str, Any] = {
        "kind": "drive#file",
        "id": f.id,
        "name": f.name,
        "mimeType": f.mime_type,
        "starred": f.starred,
        "trashed": f.trashed,
        "explicitlyTrashed": f.explicitly_trashed,
        "parents": list(f.parents),
        "spaces": ["drive"],
        "version": str(version),
        "webViewLink": web_link(f),
        "iconLink": f"https://drive-thirdparty.googleusercontent.com/16/type/{f.mime_type}",
        "hasThumbnail": False,
        "thumbnailVersion": "0",
        "viewedByMe": True,
        "viewedByMeTime": f.viewed_time,
        "createdTime": f.created_time,
        "modifiedTime": modified,
        "modifiedByMeTime": mine,
        "modifiedByMe": mine is not None,
        "owners": [user],
        "lastModifyingUser": _user(state, who),
        "shared": len(f.permissions) > 1,
        "ownedByMe": True,
        "capabilities": {"canEdit": True, "canShare": True, "canCopy": f.mime_type != FOLDER_MIME,
                         "canDelete": True, "canRename": True, "canTrash": True,
                         "canAddChildren": f.mime_type == FOLDER_MIME, "canListChildren": f.mime_type == FOLDER_MIME},
        "viewersCanCopyContent": True,
        "copyRequiresWriterPermission": False,
        "writersCanShare": True,
        "permissions": [permission_json(p) for p in f.permissions],
        "permissionIds": [p["id"] for p in f.permissions],
        "quotaBytesUsed": "0",
        "isAppAuthorized": False,
    }
    if drive_id is not None:
        # shared-drive items: the drive owns them (no owners), and they say which drive
        out["driveId"] = drive_id
        out["teamDriveId"] = drive_id
        del out["owners"]
        out["ownedByMe"] = False
        if f.id == drive_id:
            del out["parents"]
    if mine is None:   # Drive leaves the field out for a file the caller never changed
        del out["modifiedByMeTime"]
    if f.description is not None:
        out["description"] = f.description
    if f.properties:
        out["properties"] = dict(f.properties)
    if f.app_properties:
        out["appProperties"] = dict(f.app_properties)
    return out


def render_file(state: State, f: DriveFile, mask, lagged: bool = False) -> Dict[str, Any]:
    return fields.apply(file_json(state, f, lagged), mask)


def _check_parents(state: State, parents: Any, params=None) -> List[str]:
    if parents is None:
        return [state.root_id]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise _invalid("Invalid Value", "parents")
    shared_ok = params is not None and _supports_all_drives(params)
    out = []
    for pid in parents:
        if pid == "root" or pid == state.root_id:
            out.append(state.root_id)
            continue
        if pid in state.drives and shared_ok and pid not in state.denied:
            out.append(pid)
            continue
        parent = state.files.get(pid)
        if parent is not None and not shared_ok and state.drive_of(parent) is not None:
            parent = None  # a shared-drive folder is invisible without supportsAllDrives=true
        if parent is None or pid in state.denied:
            raise drive_error(404, f"File not found: {pid}.", "notFound", location="fileId")
        if parent.mime_type != FOLDER_MIME:
            raise drive_error(403, "The specified parent is not a folder.", "insufficientParentPermissions")
        out.append(pid)
    return out or [state.root_id]


def _apply_metadata(f: DriveFile, body: Dict[str, Any]) -> None:
    if "description" in body:
        f.description = body["description"]
    if "starred" in body and body["starred"] is not None:
        f.starred = bool(body["starred"])
    for key, attr in (("properties", "properties"), ("appProperties", "app_properties")):
        if isinstance(body.get(key), dict):
            target = getattr(f, attr)
            for k, v in body[key].items():
                if v is None:
                    target.pop(k, None)
                else:
                    target[k] = str(v)


def files_create(state: State, params, body) -> Dict[str, Any]:
    body = body or {}
    if not isinstance(body, dict):
        raise _invalid()
    mime = body.get("mimeType") or "application/octet-stream"
    parents = _check_parents(state, body.get("parents"), params)
    _check_storage(state, parents)
    if mime == SPREADSHEET_MIME:
        _, f = new_spreadsheet(state, body.get("name") or "Untitled spreadsheet", parents)
    else:
        fid = state.new_file_id(33)
        now = state.clock.now()
        f = DriveFile(fid, body.get("name") or ("Untitled folder" if mime == FOLDER_MIME else "Untitled"),
                      mime, parents, now)
        f.permissions.append(owner_permission(state))
        state.created(f)
        state.files[fid] = f
        state.changes.append({"seq": len(state.changes) + 1, "fileId": fid, "time": now, "removed": False})
    _apply_metadata(f, body)
    return render_file(state, f, _mask(params, DEFAULT_FILE_FIELDS))


def _check_storage(state: State, parents: List[str]) -> None:
    """A service account has no Drive storage: it can create files only inside shared drives."""
    if state.service_account and state.drive_of_parents(parents) is None:
        msg = "The user's Drive storage quota has been exceeded."
        raise drive_error(403, msg, "storageQuotaExceeded", domain="usageLimits")


def files_get(state: State, file_id: str, params) -> Dict[str, Any]:
    if _param(params, "alt") == "media":
        raise drive_error(403, "Only files with binary content can be downloaded. Use Export with Docs "
                               "Editors files.", "fileNotDownloadable", location="alt")
    f = _get_file(state, file_id, params)
    return render_file(state, f, _mask(params, DEFAULT_FILE_FIELDS), lagged=True)


def files_update(state: State, file_id: str, params, body) -> Dict[str, Any]:
    f = _get_file(state, file_id, params)
    if f.id in state.drives:
        raise drive_error(403, "The user does not have sufficient permissions for this file.",
                          "insufficientFilePermissions")
    body = body or {}
    if not isinstance(body, dict):
        raise _invalid()
    if "name" in body and body["name"] is not None:
        f.name = str(body["name"])
        ss = state.spreadsheets.get(f.id)
        if ss is not None:
            ss.props["title"] = f.name
    if "trashed" in body and body["trashed"] is not None:
        f.trashed = bool(body["trashed"])
        f.explicitly_trashed = f.trashed
    if body.get("mimeType") and body["mimeType"] != f.mime_type:
        raise drive_error(403, "The mimeType of this file cannot be changed.", "fieldNotWritable")
    _apply_metadata(f, body)
    add = [p for p in (_param(params, "addParents") or "").split(",") if p]
    remove = [p for p in (_param(params, "removeParents") or "").split(",") if p]
    if add:
        for pid in _check_parents(state, add, params):
            if pid not in f.parents:
                f.parents.append(pid)
    if remove:
        rm = {state.root_id if p == "root" else p for p in remove}
        f.parents = [p for p in f.parents if p not in rm]
    state.touch(f.id)
    return render_file(state, f, _mask(params, DEFAULT_FILE_FIELDS))


def _delete_tree(state: State, f: DriveFile) -> None:
    if f.mime_type == FOLDER_MIME:
        for child in [c for c in state.files.values() if f.id in c.parents]:
            if len(child.parents) <= 1:
                _delete_tree(state, child)
            else:
                child.parents.remove(f.id)
    state.files.pop(f.id, None)
    state.spreadsheets.pop(f.id, None)
    state.touch(f.id, removed=True)


def files_delete(state: State, file_id: str, params) -> None:
    f = _get_file(state, file_id, params)
    if f.id == state.root_id or f.id in state.drives:
        raise drive_error(403, "The user does not have sufficient permissions for this file.",
                          "insufficientFilePermissions")
    _delete_tree(state, f)


def files_copy(state: State, file_id: str, params, body) -> Dict[str, Any]:
    src = _get_file(state, file_id, params)
    body = body or {}
    if not isinstance(body, dict):
        raise _invalid()
    if src.mime_type == FOLDER_MIME:
        raise drive_error(403, "This file cannot be copied by the user.", "cannotCopyFile")
    parents = _check_parents(state, body.get("parents") if body.get("parents") is not None else src.parents,
                             params)
    _check_storage(state, parents)
    name = body.get("name") or f"Copy of {src.name}"
    if src.mime_type == SPREADSHEET_MIME:
        _, f = new_spreadsheet(state, name, parents)
        src_ss = state.spreadsheets[src.id]
        clone = src_ss.clone()
        clone.id = f.id
        clone.props["title"] = name
        for sheet in clone.sheets:
            sheet.protected = []
        state.spreadsheets[f.id] = clone
    else:
        fid = state.new_file_id(33)
        now = state.clock.now()
        f = DriveFile(fid, name, src.mime_type, parents, now)
        f.permissions.append(owner_permission(state))
        state.created(f)
        state.files[fid] = f
        state.changes.append({"seq": len(state.changes) + 1, "fileId": fid, "time": now, "removed": False})
    f.description = body.get("description", src.description)
    return render_file(state, f, _mask(params, DEFAULT_FILE_FIELDS))


# --------------------------------------------------------------------------- search (q)

_Q_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>!=|<=|>=|=|<|>|\(|\)|\{|\})
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<num>-?\d+(?:\.\d+)?)
)""", re.X)

_FIELDS_Q = {"name", "mimeType", "trashed", "starred", "modifiedTime", "createdTime", "viewedByMeTime",
             "fullText", "sharedWithMe", "visibility", "parents", "owners", "writers", "readers",
             "properties", "appProperties", "memberCount", "organizerCount", "hidden", "shortcutDetails.targetId"}


class _QParser:
    def __init__(self, text: str):
        self.tokens = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _Q_TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError(text)
            pos = m.end()
            kind = m.lastgroup
            val = m.group(kind)
            if kind == "str":
                val = re.sub(r"\\(.)", r"\1", val[1:-1])
            self.tokens.append((kind, val))
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.tokens.append(("end", ""))
        self.i = 0

    def peek(self):
        return self.tokens[self.i]

    def take(self):
        t = self.tokens[self.i]
        self.i += 1
        return t

    def word(self, w):
        t = self.peek()
        return t[0] == "word" and t[1].lower() == w

    def parse(self) -> Callable[[DriveFile, State], bool]:
        pred = self.expr()
        if self.peek()[0] != "end":
            raise ValueError("trailing tokens")
        return pred

    def expr(self):
        left = self.and_expr()
        while self.word("or"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda f, s: a(f, s) or b(f, s))(left, right)
        return left

    def and_expr(self):
        left = self.not_expr()
        while self.word("and"):
            self.take()
            right = self.not_expr()
            left = (lambda a, b: lambda f, s: a(f, s) and b(f, s))(left, right)
        return left

    def not_expr(self):
        if self.word("not"):
            self.take()
            inner = self.not_expr()
            return lambda f, s: not inner(f, s)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.expr()
            if self.take() != ("op", ")"):
                raise ValueError(")")
            return inner
        return self.term()

    def value(self):
        kind, val = self.take()
        if kind == "str":
            return val
        if kind == "word" and val.lower() in ("true", "false"):
            return val.lower() == "true"
        if kind == "num":
            return float(val)
        raise ValueError(val)

    def term(self):
        kind, val = self.take()
        if kind == "str":
            if not self.word("in"):
                raise ValueError("expected in")
            self.take()
            _, coll = self.take()
            target = val
            if coll == "parents":
                return lambda f, s: (s.root_id if target == "root" else target) in f.parents
            if coll in ("owners", "writers", "readers"):
                roles = {"owners": ("owner",), "writers": ("owner", "writer", "organizer", "fileOrganizer"),
                         "readers": ROLES}[coll]
                return lambda f, s: any(p.get("emailAddress", "").lower() == (s.user_email if target == "me" else target).lower()
                                        and p.get("role") in roles for p in f.permissions)
            raise ValueError(coll)
        if kind != "word" or val not in _FIELDS_Q:
            raise ValueError(val)
        fld = val
        if fld in ("properties", "appProperties"):
            if not self.word("has"):
                raise ValueError("has")
            self.take()
            if self.take() != ("op", "{"):
                raise ValueError("{")
            self.take()  # key
            self.take()  # =
            key = self.value()
            if not self.word("and"):
                raise ValueError("and")
            self.take()
            self.take()  # value
            self.take()  # =
            expected = self.value()
            if self.take() != ("op", "}"):
                raise ValueError("}")
            attr = "properties" if fld == "properties" else "app_properties"
            return lambda f, s: getattr(f, attr).get(key) == expected
        if fld == "sharedWithMe" and (self.peek()[0] in ("end",) or self.word("and") or self.word("or")
                                      or self.peek() == ("op", ")")):
            return lambda f, s: False
        if self.word("contains"):
            self.take()
            needle = str(self.value())
            if fld == "name":
                return lambda f, s: needle.lower() in f.name.lower()
            if fld == "fullText":
                return lambda f, s: needle.lower() in (f.name + " " + (f.description or "")).lower()
            if fld == "mimeType":
                return lambda f, s: needle in f.mime_type
            raise ValueError(fld)
        kind, op = self.take()
        if kind != "op" or op not in ("=", "!=", "<", "<=", ">", ">="):
            raise ValueError(op)
        expected = self.value()
        getter = {
            "name": lambda f: f.name,
            "mimeType": lambda f: f.mime_type,
            "trashed": lambda f: f.trashed,
            "starred": lambda f: f.starred,
            "modifiedTime": lambda f: f.modified_time,
            "createdTime": lambda f: f.created_time,
            "viewedByMeTime": lambda f: f.viewed_time,
            "sharedWithMe": lambda f: False,
            "hidden": lambda f: False,
            "visibility": lambda f: "limited",
        }.get(fld)
        if getter is None:
            raise ValueError(fld)
        if fld.endswith("Time") and isinstance(expected, str):
            expected = _norm_time(expected)

        def cmp(f, s, getter=getter, op=op, expected=expected, fld=fld):
            actual = s.visible_change(f)[1] if fld == "modifiedTime" else getter(f)
            try:
                return {"=": actual == expected, "!=": actual != expected, "<": actual < expected,
                        "<=": actual <= expected, ">": actual > expected, ">=": actual >= expected}[op]
            except TypeError:
                return False
        return cmp


def _norm_time(text: str) -> str:
    """Normalise an RFC 3339 time to the stored form (UTC, milliseconds, Z)."""
    import datetime as _dt
    t = text.strip()
    try:
        if t.endswith("Z"):
            t = t[:-1] + "+00:00"
        if "T" not in t:
            t += "T00:00:00+00:00"
        dt = _dt.datetime.fromisoformat(t)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=_dt.timezone.utc)
        dt = dt.astimezone(_dt.timezone.utc)
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    except ValueError:
        return text


def _sort_files(files: List[DriveFile], order_by: Optional[str], state: Optional[State] = None) -> List[DriveFile]:
    def seen(f: DriveFile) -> str:  # modifiedTime as Drive shows it (drive_lag_s)
        return state.visible_change(f)[1] if state is not None else f.modified_time

    keys = []
    for part in (order_by or "modifiedTime desc").split(","):
        bits = part.strip().split()
        if not bits:
            continue
        desc = len(bits) > 1 and bits[1].lower() == "desc"
        keys.append((bits[0], desc))
    getters = {
        "name": lambda f: f.name,
        "name_natural": lambda f: [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", f.name)],
        "createdTime": lambda f: f.created_time,
        "modifiedTime": lambda f: seen(f),
        "modifiedByMeTime": lambda f: seen(f),
        "viewedByMeTime": lambda f: f.viewed_time,
        "recency": lambda f: max(seen(f), f.viewed_time),
        "sharedWithMeTime": lambda f: "",
        "folder": lambda f: 0 if f.mime_type == FOLDER_MIME else 1,
        "starred": lambda f: 0 if f.starred else 1,
        "quotaBytesUsed": lambda f: 0,
    }
    out = list(files)
    for name, desc in reversed(keys):
        g = getters.get(name)
        if g is None:
            raise _invalid(f"Invalid Value", "orderBy")
        out.sort(key=g, reverse=desc)
    return out


def _page(params, default_size: int = 100):
    size_text = _param(params, "pageSize")
    try:
        size = int(size_text) if size_text else default_size
    except ValueError:
        raise _invalid("Invalid Value", "pageSize")
    if size < 1 or size > 1000:
        raise _invalid("Invalid Value", "pageSize")
    token = _param(params, "pageToken")
    offset = 0
    if token:
        m = re.match(r"^emu~(\d+)$", token)
        if not m:
            raise _invalid("Invalid Value", "pageToken")
        offset = int(m.group(1))
    return size, offset


CORPORA = ("user", "domain", "drive", "allDrives")


def _corpus_filter(state: State, params) -> Callable[[DriveFile], bool]:
    """Which files a listing covers, from corpora/driveId/includeItemsFromAllDrives/supportsAllDrives,
    with Drive's refusals of inconsistent combinations."""
    corpora = _param(params, "corpora") or _param(params, "corpus") or "user"
    parts = [c.strip() for c in corpora.split(",") if c.strip()]
    if not parts or any(c not in CORPORA for c in parts):
        raise _invalid("Invalid Value", "corpora")
    drive_id = _param(params, "driveId") or _param(params, "teamDriveId")
    include = _bool(params, "includeItemsFromAllDrives") or _bool(params, "includeTeamDriveItems")
    supports = _supports_all_drives(params)
    if ("drive" in parts) != bool(drive_id):
        raise drive_error(400, "The driveId parameter must be specified if and only if corpora is set to drive.",
                          "badRequest", location="driveId")
    if (drive_id or "allDrives" in parts) and not include:
        # Google answers this one with a 403 (recorded in nithinmurali/pygsheets#437)
        raise drive_error(403, "The includeItemsFromAllDrives parameter must be set to true when driveId is "
                               "specified or corpora contains drive or allDrives.",
                          "teamDriveIncludeItemsRequired", location="includeItemsFromAllDrives")
    if drive_id:
        if drive_id not in state.drives or drive_id in state.denied:
            raise drive_error(404, f"Shared drive not found: {drive_id}", "notFound", location="driveId")
        return lambda f: state.drive_of(f) == drive_id
    if "allDrives" in parts:
        return lambda f: True
    if include and supports:
        return lambda f: True
    return lambda f: state.drive_of(f) is None


def files_list(state: State, params) -> Dict[str, Any]:
    in_corpus = _corpus_filter(state, params)
    q = _param(params, "q")
    pred = None
    if q:
        try:
            pred = _QParser(q).parse()
        except (ValueError, IndexError):
            raise _invalid("Invalid Value", "q")
    files = [f for f in state.files.values()
             if f.id not in state.denied and in_corpus(f) and (pred is None or pred(f, state))]
    files = _sort_files(files, _param(params, "orderBy"), state)
    size, offset = _page(params)
    page = files[offset:offset + size]
    out: Dict[str, Any] = {"kind": "drive#fileList"}
    if offset + size < len(files):
        out["nextPageToken"] = f"emu~{offset + size}"
    out["incompleteSearch"] = False
    out["files"] = [file_json(state, f, lagged=True) for f in page]
    mask = _mask(params, None)
    if mask is None:
        out["files"] = [fields.apply(f, DEFAULT_FILE_FIELDS) for f in out["files"]]
        return out
    return fields.apply(out, mask)


# --------------------------------------------------------------------------- permissions

def permissions_create(state: State, file_id: str, params, body) -> Dict[str, Any]:
    f = _get_file(state, file_id, params)
    body = body or {}
    if not isinstance(body, dict):
        raise _invalid()
    role, ptype = body.get("role"), body.get("type")
    if not role:
        raise drive_error(400, "Required parameter: permission.role", "required", location="permission.role")
    if not ptype:
        raise drive_error(400, "Required parameter: permission.type", "required", location="permission.type")
    if role not in ROLES:
        raise _invalid(f"The provided role is not valid.", "permission.role")
    if ptype not in TYPES:
        raise _invalid(f"The provided permission type is not valid.", "permission.type")
    if role == "owner" and not _bool(params, "transferOwnership"):
        raise drive_error(403, "The transferOwnership parameter must be enabled when the permission role is "
                               "'owner'.", "forbidden", location="transferOwnership")
    perm: Dict[str, Any] = {"kind": "drive#permission", "type": ptype, "role": role}
    if ptype in ("user", "group"):
        email = body.get("emailAddress")
        if not email or "@" not in str(email):
            raise drive_error(400, "The permission emailAddress field is required for user or group "
                                   "permissions.", "invalidSharingRequest", location="permission.emailAddress")
        perm["id"] = permission_id_for(email)
        perm["emailAddress"] = email
        perm["displayName"] = str(email).split("@")[0]
    elif ptype == "domain":
        domain = body.get("domain")
        if not domain:
            raise drive_error(400, "The permission domain field is required for domain permissions.",
                              "invalidSharingRequest", location="permission.domain")
        perm["id"] = permission_id_for("domain:" + domain)
        perm["domain"] = domain
        perm["displayName"] = domain
        perm["allowFileDiscovery"] = bool(body.get("allowFileDiscovery"))
    else:
        perm["id"] = "anyone" if body.get("allowFileDiscovery") else "anyoneWithLink"
        perm["allowFileDiscovery"] = bool(body.get("allowFileDiscovery"))
    if body.get("expirationTime"):
        perm["expirationTime"] = body["expirationTime"]
    perm["deleted"] = False
    perm["pendingOwner"] = False
    existing = next((p for p in f.permissions if p["id"] == perm["id"]), None)
    if existing is not None:
        if existing.get("role") == "owner" and role != "owner":
            return fields.apply(permission_json(existing), _mask(params, DEFAULT_PERMISSION_FIELDS))
        existing.update(perm)
        perm = existing
    else:
        f.permissions.append(perm)
    if role == "owner":
        for p in f.permissions:
            if p is not perm and p.get("role") == "owner":
                p["role"] = "writer"
    state.touch(f.id)
    return fields.apply(permission_json(perm), _mask(params, DEFAULT_PERMISSION_FIELDS))


def permissions_list(state: State, file_id: str, params) -> Dict[str, Any]:
    f = _get_file(state, file_id, params)
    size, offset = _page(params, 100)
    perms = f.permissions[offset:offset + size]
    out: Dict[str, Any] = {"kind": "drive#permissionList"}
    if offset + size < len(f.permissions):
        out["nextPageToken"] = f"emu~{offset + size}"
    out["permissions"] = [permission_json(p) for p in perms]
    mask = _mask(params, None)
    if mask is None:
        out["permissions"] = [fields.apply(p, DEFAULT_PERMISSION_FIELDS) for p in out["permissions"]]
        return out
    return fields.apply(out, mask)


def _find_perm(state: State, f: DriveFile, perm_id: str) -> Dict[str, Any]:
    p = next((p for p in f.permissions if p["id"] == perm_id), None)
    if p is None:
        raise drive_error(404, f"Permission not found: {perm_id}.", "notFound", location="permissionId")
    return p


def permissions_get(state: State, file_id: str, perm_id: str, params) -> Dict[str, Any]:
    f = _get_file(state, file_id, params)
    return fields.apply(permission_json(_find_perm(state, f, perm_id)), _mask(params, DEFAULT_PERMISSION_FIELDS))


def permissions_update(state: State, file_id: str, perm_id: str, params, body) -> Dict[str, Any]:
    f = _get_file(state, file_id, params)
    p = _find_perm(state, f, perm_id)
    body = body or {}
    role = body.get("role")
    if role:
        if role not in ROLES:
            raise _invalid("The provided role is not valid.", "permission.role")
        if role == "owner" and not _bool(params, "transferOwnership"):
            raise drive_error(403, "The transferOwnership parameter must be enabled when the permission role "
                                   "is 'owner'.", "forbidden", location="transferOwnership")
        if p.get("role") == "owner" and role != "owner":
            raise drive_error(403, "The owner of a file cannot be removed.", "cannotRemoveOwner")
        if role == "owner":
            for other in f.permissions:
                if other is not p and other.get("role") == "owner":
                    other["role"] = "writer"
        p["role"] = role
    if "expirationTime" in body:
        p["expirationTime"] = body["expirationTime"]
    state.touch(f.id)
    return fields.apply(permission_json(p), _mask(params, DEFAULT_PERMISSION_FIELDS))


def permissions_delete(state: State, file_id: str, perm_id: str, params) -> None:
    f = _get_file(state, file_id, params)
    p = _find_perm(state, f, perm_id)
    if p.get("role") == "owner":
        raise drive_error(403, "The owner of a file cannot be removed.", "cannotRemoveOwner")
    f.permissions.remove(p)
    state.touch(f.id)


# --------------------------------------------------------------------------- comments (minimal)

def comments_list(state: State, file_id: str, params) -> Dict[str, Any]:
    f = _get_file(state, file_id, shared_ok=True)
    mask = _mask(params, None)
    if mask is None:
        raise drive_error(400, "The 'fields' parameter is required for this method.", "required",
                          location="fields")
    size, offset = _page(params, 20)
    comments = f.comments[offset:offset + size]
    out: Dict[str, Any] = {"kind": "drive#commentList", "comments": [dict(c) for c in comments]}
    if offset + size < len(f.comments):
        out["nextPageToken"] = f"emu~{offset + size}"
    return fields.apply(out, mask)


def comments_create(state: State, file_id: str, params, body) -> Dict[str, Any]:
    f = _get_file(state, file_id, shared_ok=True)
    mask = _mask(params, None)
    if mask is None:
        raise drive_error(400, "The 'fields' parameter is required for this method.", "required",
                          location="fields")
    body = body or {}
    if not body.get("content"):
        raise drive_error(400, "Required: content", "required", location="content")
    now = state.clock.now()
    comment = {"kind": "drive#comment", "id": "AAAA" + state.new_file_id(12)[1:], "createdTime": now,
               "modifiedTime": now, "author": _user(state, state.requester()), "htmlContent": body["content"],
               "content": body["content"], "deleted": False, "resolved": False}
    if body.get("anchor"):
        comment["anchor"] = body["anchor"]
    f.comments.append(comment)
    state.touch(f.id)
    return fields.apply(comment, mask)


# --------------------------------------------------------------------------- changes / about

def changes_start_token(state: State, params) -> Dict[str, Any]:
    return fields.apply({"kind": "drive#startPageToken", "startPageToken": str(len(state.changes) + 1)},
                        _mask(params, None))


def changes_list(state: State, params) -> Dict[str, Any]:
    token = _param(params, "pageToken")
    if not token:
        raise drive_error(400, "Required parameter: pageToken", "required", location="pageToken")
    try:
        start = int(token)
    except ValueError:
        raise _invalid("Invalid Value", "pageToken")
    if start < 1:
        raise _invalid("Invalid Value", "pageToken")
    size, _ = _page({k: v for k, v in params.items() if k != "pageToken"}, 100)
    include_removed = _bool(params, "includeRemoved", True)
    latest: Dict[str, Dict[str, Any]] = {}
    for ch in state.changes[start - 1:]:
        latest.pop(ch["fileId"], None)
        latest[ch["fileId"]] = ch
    entries = [ch for ch in latest.values() if include_removed or not ch["removed"]]
    entries = [ch for ch in entries if ch["fileId"] not in state.denied]
    entries.sort(key=lambda ch: ch["seq"])
    page = entries[:size]
    out: Dict[str, Any] = {"kind": "drive#changeList"}
    if len(entries) > size:
        out["nextPageToken"] = str(page[-1]["seq"] + 1)
    else:
        out["newStartPageToken"] = str(len(state.changes) + 1)
    mask = _mask(params, None)
    changes = []
    for ch in page:
        f = state.files.get(ch["fileId"])
        removed = ch["removed"] or f is None
        item: Dict[str, Any] = {"kind": "drive#change", "changeType": "file", "time": ch["time"],
                                "removed": removed, "fileId": ch["fileId"]}
        if not removed:
            full = file_json(state, f)
            item["file"] = full if mask is not None else fields.apply(full, DEFAULT_FILE_FIELDS)
        changes.append(item)
    out["changes"] = changes
    return fields.apply(out, mask) if mask is not None else out


def about_get(state: State, params) -> Dict[str, Any]:
    mask = _mask(params, None)
    if mask is None:
        raise drive_error(400, "The 'fields' parameter is required for this method.", "required",
                          location="fields")
    about = {"kind": "drive#about", "user": _user(state, state.requester()),
             "storageQuota": {"limit": "16106127360", "usage": "0", "usageInDrive": "0", "usageInDriveTrash": "0"},
             "maxUploadSize": "5242880000000", "appInstalled": False, "canCreateDrives": False}
    return fields.apply(about, mask)


# --------------------------------------------------------------------------- shared drives

DEFAULT_DRIVE_FIELDS = {"kind": True, "id": True, "name": True}


def drive_json(state: State, d: Dict[str, Any]) -> Dict[str, Any]:
    caps = {k: True for k in ("canAddChildren", "canComment", "canCopy", "canDeleteDrive", "canDownload",
                              "canEdit", "canListChildren", "canManageMembers", "canReadRevisions", "canRename",
                              "canRenameDrive", "canChangeDriveBackground", "canShare", "canTrashChildren",
                              "canDeleteChildren", "canChangeCopyRequiresWriterPermissionRestriction",
                              "canChangeDomainUsersOnlyRestriction", "canChangeDriveMembersOnlyRestriction",
                              "canChangeSharingFoldersRequiresOrganizerPermissionRestriction",
                              "canResetDriveRestrictions")}
    return {"kind": "drive#drive", "id": d["id"], "name": d["name"], "colorRgb": "#4986e7",
            "backgroundImageLink": "https://ssl.gstatic.com/team_drive_themes/abstract_blue_bg.jpg",
            "capabilities": caps, "themeId": "abstract_blue", "createdTime": d["createdTime"], "hidden": False,
            "restrictions": {"adminManagedRestrictions": False, "copyRequiresWriterPermission": False,
                             "domainUsersOnly": False, "driveMembersOnly": False,
                             "sharingFoldersRequiresOrganizerPermission": False}}


def drives_create(state: State, params, body) -> Dict[str, Any]:
    request_id = _param(params, "requestId")
    if not request_id:
        raise drive_error(400, "Required parameter: requestId", "required", location="requestId")
    body = body or {}
    if not isinstance(body, dict):
        raise _invalid()
    if not body.get("name"):
        raise drive_error(400, "Required: name", "required", location="name")
    if request_id in state.drive_requests:
        raise drive_error(409, "A shared drive with this request ID already exists.", "duplicate",
                          location="requestId")
    did = state.new_drive_id()
    d = {"id": did, "name": str(body["name"]), "createdTime": state.clock.now()}
    state.drives[did] = d
    state.drive_requests[request_id] = did
    return fields.apply(drive_json(state, d), _mask(params, DEFAULT_DRIVE_FIELDS))


def drives_get(state: State, drive_id: str, params) -> Dict[str, Any]:
    d = state.drives.get(drive_id)
    if d is None or drive_id in state.denied:
        raise drive_error(404, f"Shared drive not found: {drive_id}", "notFound", location="driveId")
    return fields.apply(drive_json(state, d), _mask(params, DEFAULT_DRIVE_FIELDS))


def drives_list(state: State, params) -> Dict[str, Any]:
    size_text = _param(params, "pageSize")
    try:
        size = int(size_text) if size_text else 10
    except ValueError:
        raise _invalid("Invalid Value", "pageSize")
    if size < 1 or size > 100:
        raise _invalid("Invalid Value", "pageSize")
    token = _param(params, "pageToken")
    offset = 0
    if token:
        m = re.match(r"^emu~(\d+)$", token)
        if not m:
            raise _invalid("Invalid Value", "pageToken")
        offset = int(m.group(1))
    drives = [d for d in state.drives.values() if d["id"] not in state.denied]
    q = _param(params, "q")
    if q:
        m = re.match(r"^\s*name\s*(=|contains)\s*'((?:[^'\\]|\\.)*)'\s*$", q)
        if not m:
            raise _invalid("Invalid Value", "q")
        needle = re.sub(r"\\(.)", r"\1", m.group(2))
        drives = [d for d in drives if (d["name"] == needle if m.group(1) == "=" else needle.lower() in
                                        d["name"].lower())]
    page = drives[offset:offset + size]
    out: Dict[str, Any] = {"kind": "drive#driveList"}
    if offset + size < len(drives):
        out["nextPageToken"] = f"emu~{offset + size}"
    out["drives"] = [drive_json(state, d) for d in page]
    mask = _mask(params, None)
    if mask is None:
        out["drives"] = [fields.apply(d, DEFAULT_DRIVE_FIELDS) for d in out["drives"]]
        return out
    return fields.apply(out, mask)
