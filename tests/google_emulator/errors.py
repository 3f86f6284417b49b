"""Google-shaped API errors."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "status"}}``.

    Drive errors carry an ``errors`` list (domain/reason) and no ``status``,
    as the Drive v3 API does.
    """

    def __init__(self, code: int, message: str, status: Optional[str] = None,
                 details: Optional[List[Dict[str, Any]]] = None,
                 errors: Optional[List[Dict[str, Any]]] = None,
                 headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else (None if errors else STATUS.get(code, "UNKNOWN"))
        self.details = details
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> Dict[str, Any]:
        err: Dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            err["errors"] = self.errors
        if self.status:
            err["status"] = self.status
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


def invalid(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


def not_found(message: str = "Requested entity was not found.") -> ApiError:
    return ApiError(404, message, "NOT_FOUND")


def permission_denied(message: str = "The caller does not have permission") -> ApiError:
    return ApiError(403, message, "PERMISSION_DENIED")


def field_violation(field: str, description: str) -> ApiError:
    return ApiError(400, description, "INVALID_ARGUMENT", details=[{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": field, "description": description}],
    }])


def invalid_value(field: str, value: Any, type_name: str = "type.googleapis.com/google.protobuf.ListValue") -> ApiError:
    shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, (dict, list)) else "{...}"
    return field_violation(field, f"Invalid value at '{field}' ({type_name}), {shown}")


def unknown_field(name: str, at: str) -> ApiError:
    msg = f"Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field."
    return field_violation(at, msg)


def drive_error(code: int, message: str, reason: str, domain: str = "global",
                location: Optional[str] = None, location_type: Optional[str] = None) -> ApiError:
    item: Dict[str, Any] = {"message": message, "domain": domain, "reason": reason}
    if location:
        item["location"] = location
        item["locationType"] = location_type or "parameter"
    return ApiError(code, message, status=None, errors=[item])


def drive_not_found(file_id: str) -> ApiError:
    return drive_error(404, f"File not found: {file_id}.", "notFound", location="fileId")
