"""The audit trail of the API: one log line per call that changes something.

Every POST, PUT, PATCH and DELETE under /api/ (takes, stream and record, reloads, notes, the
graphics, the guests' controls, every command) is logged once it is answered, with the
caller's role, how it proved it (bearer token, session cookie), the address it came from and
the answer's status: who did what, and whether it happened. Reads are left to the access log
(a console polls). The token itself is never in the line.
"""

from __future__ import annotations

import logging

from aiohttp import web

from .auth import ROLE, SAFE_METHODS, VIA
from .errors import ApiError, Handler, is_api

log = logging.getLogger(__name__)


def line(request: web.BaseRequest, status: int) -> str:
    role = request.get(ROLE) or "anyone"  # (public routes, or refused before a role)
    via = request.get(VIA)
    return (f"{request.method} {request.path} by {role}{f' ({via})' if via else ''} from "
            f"{request.remote}: {status}")


@web.middleware
async def audit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log each state-changing API call with who made it and its answer (module docstring)."""
    if request.method in SAFE_METHODS or not is_api(request):
        return await handler(request)
    try:
        response = await handler(request)
    except ApiError as e:
        log.info("%s %s", line(request, e.status), e.code)
        raise
    except web.HTTPException as e:
        log.info("%s", line(request, e.status))
        raise
    except Exception:
        log.info("%s", line(request, 500))
        raise
    log.info("%s", line(request, response.status))
    return response
