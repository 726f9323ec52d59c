"""WeasyPrint's resource fetcher, locked to the project: no network, no file outside the repository."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlparse

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse


class RefusedResource(FatalURLFetchingError):
    """A template or data cell pointed at something outside the project. Stops the rendering."""


FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2")


class ProjectFetcher(URLFetcher):
    """Serves `file:` URLs inside `root` (and inline `data:` URLs); refuses everything else.

    The one exception is font files of the system font directories: `local()` fonts (the installed
    Noto Sans CJK JP) reach WeasyPrint through this fetcher too.
    """

    def __init__(self, root: str | Path, stylesheets: str | Path | None = None):
        super().__init__(fail_on_errors=True, allowed_protocols=("file", "data"))
        self.root = Path(root).resolve()
        # the copies of the project's stylesheets beside an HTML written elsewhere (css/ of the output folder)
        self.stylesheets = Path(stylesheets).resolve() if stylesheets is not None else None

    def _allowed(self, path: Path) -> bool:
        if path.is_relative_to(self.root):
            return True
        if self.stylesheets is not None and path.suffix == ".css" and path.parent == self.stylesheets:
            return True
        return path.suffix.lower() in FONT_SUFFIXES and any(path.is_relative_to(d) for d in FONT_DIRS)

    def fetch(self, url, headers=None):
        parsed = urlparse(url)
        if parsed.scheme == "data":
            return super().fetch(url, headers)
        if parsed.scheme != "file":
            raise RefusedResource(
                f"refused to fetch {url!r}: the report may only use files inside {self.root} (no network resources)"
            )
        path = Path(unquote(parsed.path)).resolve()
        if not self._allowed(path):
            raise RefusedResource(f"refused to fetch {url!r}: {path} is outside the project ({self.root})")
        if not path.is_file():
            raise RefusedResource(f"missing resource {url!r}: {path} does not exist")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})
