"""Reading a URL: one place for timeouts, bounded HTTP range reads, ``hf://`` and the words
a network failure is reported in.

Every URL goes through :func:`connect`, which returns a :class:`Remote` (``size``, ``stamp``,
``read(offset, n)``):

- ``http://`` / ``https://`` and ``hf://`` (a Hugging Face repo file, read from its
  ``resolve`` URL with the hub's headers) are read by :class:`HttpRemote`: a HEAD for the size
  and the ETag, then one GET with ``Range`` per read on the session of fsspec's
  ``HTTPFileSystem`` (aiohttp). A response is read in pieces and never beyond the bytes
  asked for: a server that ignores ``Range`` (HTTP 200 for part of the file) is refused
  before its body is read, and one that sends more than asked is refused as soon as it does.
- any other fsspec URL (``s3://``, ``gs://``, ``memory://``, chained ``simplecache::...``)
  by :class:`FsspecRemote` (``fs.cat_file(path, start, end)``).

``storage_options["timeout"]`` (seconds, default :data:`DEFAULT_TIMEOUT_S`) bounds how long
a connection may take and how long a response may stay silent (``http(s)://``, ``hf://``;
``s3://`` as botocore's connect and read timeouts; other backends keep their own); it is
tascodec's own option and is not passed to fsspec as such. :func:`describe` turns an exception of any backend into one
line: a refused connection, a timeout, a missing file, or the backend's own words.
"""

from __future__ import annotations

import asyncio
import errno
import re
from typing import Any
from urllib.parse import quote

from ..errors import FormatError, TascodecError
from ..extras import install_command

__all__ = ["DEFAULT_TIMEOUT_S", "Remote", "HttpRemote", "FsspecRemote", "connect", "describe",
           "split_options"]

#: Seconds a connection, or a response that stays silent, may take (``storage_options``
#: ``{"timeout": seconds}`` changes it): a stalled server fails in seconds, not minutes.
DEFAULT_TIMEOUT_S = 20.0
_PIECE = 256 << 10  # bytes read from a response at a time
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class _Refusal(Exception):
    """A response tascodec refuses (its message is the reason)."""


def split_options(url: str, storage_options: dict[str, Any] | None) -> tuple[float, dict]:
    """``(timeout seconds, the options for fsspec)``: ``timeout`` is tascodec's."""
    options = dict(storage_options or {})
    timeout = options.pop("timeout", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise TascodecError(f"{url}: storage_options['timeout']: expected seconds > 0, got "
                            f"{timeout!r}")
    return float(timeout), options


def describe(exc: BaseException, timeout: float) -> str:
    """One line saying what went wrong with a remote read (the ``cause`` chain included)."""
    seen = []
    e: BaseException | None = exc
    while e is not None and len(seen) < 8:
        seen.append(e)
        e = e.__cause__ or e.__context__
    for e in seen:
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED:
            return "connection refused (nothing is listening there)"
        name = type(e).__name__
        if isinstance(e, (asyncio.TimeoutError, TimeoutError)) or "Timeout" in name:
            return (f"no answer within {timeout:g} s (timed out; storage_options="
                    "{'timeout': seconds} changes the limit)")
    for e in seen:
        if type(e).__name__ in ("ClientConnectorError", "ClientConnectorDNSError", "gaierror"):
            return f"cannot connect: {str(e)[:200]}"
    if isinstance(exc, FileNotFoundError):
        return "no such archive"
    return f"cannot read: {type(exc).__name__}: {str(exc)[:200]}"


class Remote:
    """A remote file: ``size``, ``stamp`` (ETag or modification time, or ``None``),
    ``read(offset, n)`` (exactly ``n`` bytes, or a ``FormatError``), ``requests`` made."""

    size: int
    stamp: str | None
    requests: int = 0

    def read(self, offset: int, n: int) -> bytes:
        raise NotImplementedError


class HttpRemote(Remote):
    """A file behind an HTTP(S) URL, read with range requests on fsspec's aiohttp session."""

    def __init__(self, url: str, location: str, options: dict[str, Any], timeout: float,
                 headers: dict[str, str] | None = None) -> None:
        import aiohttp  # lazy: aiohttp (remote extra)
        from fsspec.implementations.http import HTTPFileSystem  # lazy: fsspec

        client = dict(options.pop("client_kwargs", None) or {})
        client.setdefault("timeout", aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=timeout, sock_read=timeout))
        self._fs = HTTPFileSystem(client_kwargs=client, **options)
        self.url, self.location, self.timeout = url, location, timeout
        self._headers = dict(headers or {})
        self.size, self.stamp = self._run(self._head())

    def _run(self, coro: Any) -> Any:
        from fsspec.asyn import sync  # lazy: fsspec

        try:
            return sync(self._fs.loop, lambda: coro)
        except _Refusal as exc:
            raise FormatError(f"{self.location}: {exc}") from None
        except TascodecError:
            raise
        except Exception as exc:  # noqa: BLE001 - network errors of any kind, one line each
            raise FormatError(f"{self.location}: {describe(exc, self.timeout)}") from None

    async def _session(self) -> Any:
        return await self._fs.set_session()

    def _kw(self, extra: dict[str, str]) -> dict[str, Any]:
        kw = self._fs.kwargs.copy()
        kw["headers"] = {**kw.pop("headers", {}), **self._headers, **extra}
        kw["allow_redirects"] = True
        return kw

    async def _head(self) -> tuple[int, str | None]:
        session = await self._session()
        self.requests += 1
        async with session.head(self._fs.encode_url(self.url), **self._kw({})) as r:
            if r.status == 404:
                raise FileNotFoundError(self.url)
            if r.status >= 400:
                raise _Refusal(f"HTTP {r.status} {r.reason} for the size query")
            if r.headers.get("Accept-Ranges", "").lower() == "none":
                raise _Refusal("the server refuses range requests (Accept-Ranges: none); host "
                               "the archive where they are served")
            stamp = r.headers.get("ETag") or r.headers.get("Last-Modified")
            size = r.headers.get("Content-Length")
        if size is None or not size.isdigit():  # ask for one byte: Content-Range holds it
            _, total = await self._get(0, 1)
            return total, stamp
        return int(size), stamp

    async def _get(self, offset: int, n: int) -> tuple[bytes, int]:
        session = await self._session()
        self.requests += 1
        rng = {"Range": f"bytes={offset}-{offset + n - 1}"}
        async with session.get(self._fs.encode_url(self.url), **self._kw(rng)) as r:
            if r.status == 404:
                raise FileNotFoundError(self.url)
            if r.status == 416:
                raise _Refusal(f"truncated: no bytes at offset {offset} (HTTP 416)")
            if r.status >= 400:
                raise _Refusal(f"HTTP {r.status} {r.reason} for bytes {offset}-{offset + n - 1}")
            m = _CONTENT_RANGE.match(r.headers.get("Content-Range", ""))
            if r.status != 206 or not m or int(m.group(1)) != offset:
                # the body is never read: a server ignoring Range would send the whole file
                raise _Refusal(f"the server ignored a range request (HTTP {r.status} for bytes "
                               f"{offset}-{offset + n - 1}); host the archive where HTTP range "
                               "requests are served")
            total = int(m.group(3)) if m.group(3).isdigit() else -1
            data = bytearray()
            async for piece in r.content.iter_chunked(_PIECE):
                data += piece
                if len(data) > n:
                    raise _Refusal(f"the server sent more than the {n} bytes asked for at "
                                   f"offset {offset}")
        return bytes(data), total

    def read(self, offset: int, n: int) -> bytes:
        return self._run(self._get(offset, n))[0]


class FsspecRemote(Remote):
    """Any other fsspec URL, read with ``fs.cat_file(path, start, end)``."""

    def __init__(self, fs: Any, path: str, location: str, timeout: float) -> None:
        self._fs, self._path, self.location, self.timeout = fs, path, location, timeout
        info = self._call(fs.info, path)
        self.requests += 1
        if info.get("type", "file") != "file" or not isinstance(info.get("size"), int):
            raise FormatError(f"{location}: not a file of known size (is it a directory?)")
        self.size = int(info["size"])
        keys = ("ETag", "etag", "blob_id", "md5Hash", "Last-Modified", "LastModified",
                "last_modified", "mtime", "updated", "created")
        stamp = next((info[k] for k in keys if info.get(k) is not None), None)
        self.stamp = None if stamp is None else str(stamp)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TascodecError:
            raise
        except Exception as exc:  # noqa: BLE001 - storage errors of any backend
            raise FormatError(f"{self.location}: {describe(exc, self.timeout)}") from None

    def read(self, offset: int, n: int) -> bytes:
        self.requests += 1
        data = self._call(self._fs.cat_file, self._path, start=offset, end=offset + n)
        if len(data) > n:
            raise FormatError(f"{self.location}: the server ignored a range request (sent "
                              f"{len(data)} bytes for {n}); host the archive where HTTP range "
                              "requests are served")
        return bytes(data)


def _hf_resolve(url: str, options: dict[str, Any], timeout: float) -> tuple[str, dict]:
    """The ``resolve`` URL of an ``hf://`` file and the hub's headers (token, user agent)."""
    try:
        from huggingface_hub import HfFileSystem  # lazy: huggingface_hub (remote extra)
        from huggingface_hub.utils import build_hf_headers  # lazy: huggingface_hub (remote extra)
    except ImportError:
        raise TascodecError(f"{url}: hf:// needs huggingface_hub: "
                            f"{install_command('remote')}") from None
    try:
        hfs = HfFileSystem(**options)
        resolved = hfs.resolve_path(url)
        if not getattr(resolved, "path_in_repo", ""):
            raise FormatError(f"{url}: names a repository, not a file in it")
        kind = {"dataset": "datasets/", "space": "spaces/"}.get(resolved.repo_type or "", "")
        resolve = (f"{hfs.endpoint.rstrip('/')}/{kind}{resolved.repo_id}/resolve/"
                   f"{quote(resolved.revision, safe='')}/{quote(resolved.path_in_repo)}")
        return resolve, build_hf_headers(token=options.get("token"))
    except TascodecError:
        raise
    except Exception as exc:  # noqa: BLE001 - the hub's errors, one line
        raise FormatError(f"{url}: {describe(exc, timeout)}") from None


def connect(url: str, storage_options: dict[str, Any] | None) -> Remote:
    """The :class:`Remote` reading ``url`` (see the module docstring)."""
    timeout, options = split_options(url, storage_options)
    try:
        import fsspec.core  # lazy: fsspec
    except ImportError:
        raise TascodecError(f"{url}: reading a URL needs fsspec: "
                            f"{install_command('remote')}") from None
    scheme = url.split("://", 1)[0].lower() if "::" not in url else ""
    if scheme in ("http", "https"):
        return HttpRemote(url, url, options, timeout)
    if scheme == "hf":
        resolve_url, headers = _hf_resolve(url, options, timeout)
        return HttpRemote(resolve_url, url, {}, timeout, headers)
    if scheme in ("s3", "s3a"):  # botocore's own timeouts are a minute and more
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("connect_timeout", timeout)
        config.setdefault("read_timeout", timeout)
        options["config_kwargs"] = config
    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
    except ImportError as exc:
        raise TascodecError(f"{url}: {str(exc).splitlines()[0]} "
                            f"({install_command('remote')})") from None
    except (ValueError, TypeError) as exc:
        raise TascodecError(f"{url}: cannot open this URL with fsspec: {exc}") from None
    return FsspecRemote(fs, path, url, timeout)
