"""Graphics overlays: the state of every graphic (board), the pages OBS browser sources load
(overlays/ at the top of the repository) and their websocket (hub), the director's API
(routes). Depends on the core only; the wiring passes auth and the read key as callables."""

from .board import BUSES, PREVIEW, PROGRAM, Board, Graphic, OverlayError
from .cues import check_cue_data, cue_defaults, up_next
from .hub import OverlayHub
from .keys import derive_read_key
from .routes import OPENAPI_PATHS, OverlayRoutes, api_routes, install
from .schema import Catalog, default_catalog, default_directory
from .urls import base_url, page_url, program_urls, read_key

__all__ = [
    "BUSES", "OPENAPI_PATHS", "PREVIEW", "PROGRAM", "Board", "Catalog", "Graphic",
    "OverlayError", "OverlayHub", "OverlayRoutes", "api_routes", "base_url", "check_cue_data",
    "cue_defaults", "default_catalog", "default_directory", "derive_read_key", "install",
    "page_url", "program_urls", "read_key", "up_next",
]
