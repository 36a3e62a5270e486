"""A local stand-in for the Hugging Face hub's HTTP endpoints, on 127.0.0.1 only.

``huggingface_hub`` sends every request to ``HF_ENDPOINT`` (``constants.ENDPOINT``); this
server answers the ones publishing and reading a dataset file need, as the hub does:

- ``GET /api/datasets/<org>/<name>[/revision/<rev>]``: repository info (``repo_info``, which
  ``HfFileSystem.resolve_path`` asks first); 404 for an unknown repository;
- ``GET /api/datasets/<org>/<name>/tree/<rev>[/<dir>]``: the files (``HfFileSystem.ls``);
- ``POST /api/validate-yaml``: a README's YAML metadata checked (a mapping, ``license`` a
  string, ``tags`` / ``task_categories`` / ``size_categories`` lists of strings);
- ``POST /api/repos/create``: a new dataset repository (``hf upload`` creates it if need be);
- ``POST /api/datasets/<org>/<name>/preupload/<rev>``: every file uploaded as ``regular``
  (its bytes in the commit itself: no LFS or Xet storage to stand in for);
- ``POST /api/datasets/<org>/<name>/commit/<rev>``: the NDJSON commit (``header`` and
  ``file`` lines, base64 content): the files are stored;
- ``HEAD``/``GET /datasets/<org>/<name>/resolve/<rev>/<path>``: a file, with range requests
  (through ``RangeServer``, which counts the requests and bytes it serves).

``HubServer(files={"org/name": {"a.tasz": data}})`` starts with those repositories.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from range_server import RangeServer

__all__ = ["HubServer"]

_API = re.compile(r"^/api/datasets/([^/]+/[^/]+)(?:/(revision|tree|preupload|commit)/([^/?]+)"
                  r"(?:/([^?]*))?)?(?:\?.*)?$")
_RESOLVE = re.compile(r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/([^?]+)")


class HubServer(RangeServer):
    """``with HubServer() as hub: hub.endpoint``; ``hub.repos[repo][path]`` the files."""

    def __init__(self, repos: dict[str, dict[str, bytes]] | None = None) -> None:
        super().__init__({}, routes={"/api/": self._api, "/datasets/": self._resolve})
        self.repos: dict[str, dict[str, bytes]] = {r: dict(f) for r, f in (repos or {}).items()}
        self.commits = 0
        self.validated = 0  # README metadata validations passed (POST /api/validate-yaml)
        for repo in self.repos:
            self._publish(repo)

    @property
    def endpoint(self) -> str:
        return self.url("").rstrip("/")

    def _publish(self, repo: str) -> None:
        """Serve the repository's files at their ``resolve`` paths (main branch)."""
        for path, data in self.repos[repo].items():
            self.files[f"/datasets/{repo}/resolve/main/{path}"] = data

    @staticmethod
    def _json(status: int, value: Any) -> tuple[int, dict, bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(value).encode()

    def _sha(self, repo: str) -> str:
        return hashlib.sha1(f"{repo}:{self.commits}".encode()).hexdigest()

    def _body(self, handler: Any) -> bytes:
        n = int(handler.headers.get("Content-Length", "0"))
        return handler.rfile.read(n) if n else b""

    def _api(self, handler: Any) -> tuple[int, dict, bytes] | None:
        path = handler.path
        if path.startswith("/api/repos/create"):
            spec = json.loads(self._body(handler) or b"{}")
            name = str(spec.get("name", ""))
            repo = name if "/" in name else f"{spec.get('organization') or 'user'}/{name}"
            new = repo not in self.repos
            self.repos.setdefault(repo, {})
            if new:
                return self._json(200, {"url": f"{self.endpoint}/datasets/{repo}"})
            return self._json(409, {"error": "You already created this dataset repo",
                                    "url": f"{self.endpoint}/datasets/{repo}"})
        if path.startswith("/api/validate-yaml"):
            return self._validate(json.loads(self._body(handler) or b"{}").get("content", ""))
        m = _API.match(path)
        if m is None:
            return self._json(404, {"error": "not found"})
        repo, kind, rev, rest = m.groups()
        if repo not in self.repos:
            return 404, {"X-Error-Code": "RepoNotFound"}, b'{"error": "Repository not found"}'
        files = self.repos[repo]
        if kind in (None, "revision"):
            return self._json(200, {
                "id": repo, "_id": repo, "sha": self._sha(repo), "private": False,
                "siblings": [{"rfilename": p, "size": len(d)} for p, d in files.items()]})
        if kind == "tree":
            prefix = (rest or "").strip("/")
            prefix = prefix + "/" if prefix else ""
            return self._json(200, [
                {"type": "file", "path": p, "size": len(d),
                 "oid": hashlib.sha1(d).hexdigest()}
                for p, d in files.items() if p.startswith(prefix) and "/" not in p[len(prefix):]])
        if kind == "preupload":
            spec = json.loads(self._body(handler) or b"{}")
            return self._json(200, {"files": [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                for f in spec.get("files", [])]})
        if kind == "commit":
            for line in self._body(handler).splitlines():
                op = json.loads(line)
                if op.get("key") == "file":
                    value = op["value"]
                    files[value["path"]] = base64.b64decode(value["content"])
            self.commits += 1
            self._publish(repo)
            sha = self._sha(repo)
            return self._json(200, {"success": True, "commitOid": sha, "pullRequestUrl": None,
                                    "commitUrl": f"{self.endpoint}/datasets/{repo}/commit/{sha}"})
        return None

    def _validate(self, content: str) -> tuple[int, dict, bytes]:
        """The hub's check of a README's YAML metadata: a mapping whose ``license`` is a
        string and whose list fields are lists of strings."""
        import yaml

        try:
            meta = yaml.safe_load(content.split("---\n", 2)[1]) if content.startswith(
                "---\n") else {}
        except (yaml.YAMLError, IndexError) as exc:
            return self._json(400, {"error": f"Invalid metadata in README.md: {exc}"})
        bad = [] if isinstance(meta, dict) else ["not a mapping"]
        if not bad and not isinstance(meta.get("license", ""), str):
            bad.append("license must be a string")
        for key in ("tags", "task_categories", "size_categories"):
            value = meta.get(key, []) if not bad else []
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                bad.append(f"{key} must be a list of strings")
        if bad:
            return self._json(400, {"error": f"Invalid metadata in README.md: {bad}"})
        self.validated += 1
        return self._json(200, {"errors": [], "warnings": []})

    def _resolve(self, handler: Any) -> tuple[int, dict, bytes] | None:
        m = _RESOLVE.match(handler.path)
        if m is None or m.group(1) not in self.repos:
            return 404, {"X-Error-Code": "RepoNotFound"}, b""
        if m.group(3) not in self.repos[m.group(1)]:
            return 404, {"X-Error-Code": "EntryNotFound"}, b""
        return None  # the file itself: RangeServer serves it, with ranges
