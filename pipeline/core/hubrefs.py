"""Docker Hub images a repository names in its own files (pure: text in, names out).

Collect uses these as *candidates* for ``collect/hub_matches.csv``; each is confirmed or
not by the same rules as a Hub search hit (a link back to the repository, or an equal
Dockerfile).  Only Docker Hub images outside ``library/`` are kept (official images such
as ``python`` or ``nginx`` are bases, never a project's own image); references holding a
variable (``${TAG}``, ``$IMAGE``) are dropped, since their value is unknown here.
"""

from __future__ import annotations

import re

from .imageref import DOCKER_HUB, parse

_COMPOSE_IMAGE = re.compile(r"^\s*-?\s*image:\s*['\"]?([^\s'\"#]+)", re.M)
_DOCKER_CMD = re.compile(r"\bdocker\s+(push|pull|run|build|tag)\b([^\n;&|`]*)")
_TAG_OPT = re.compile(r"(?:^|\s)(?:-t|--tag)(?:\s+|=)['\"]?([^\s'\"]+)")
_RUN_OPTS_WITH_VALUE = frozenset({"-e", "--env", "-p", "--publish", "-v", "--volume", "--name", "-w",
                                  "--workdir", "--network", "--net", "-u", "--user", "--gpus", "--shm-size",
                                  "--entrypoint", "--env-file", "--runtime", "--ipc", "-m", "--memory",
                                  "--mount", "--device", "--platform", "-h", "--hostname", "--cpus"})
_WORKFLOW_TAGS = re.compile(r"^(\s*)tags:\s*(\|[-+]?|>[-+]?)?\s*([^\n#]*)$", re.M)
_BADGE = re.compile(r"(?:hub\.docker\.com/r/|hub\.docker\.com/repository/docker/|"
                    r"img\.shields\.io/docker/[a-z-]+(?:/[a-z]+)?/)([a-z0-9][\w.-]*)/([a-z0-9][\w.-]*)", re.I)


def hub_image(ref: str) -> str | None:
    """``namespace/name`` of a Docker Hub image outside ``library/``, else None."""
    ref = ref.strip().strip("'\",")
    if not ref or "$" in ref or "{" in ref or ref.startswith("-"):
        return None
    r = parse(ref)
    if r.registry != DOCKER_HUB or r.namespace in ("", "library") or "/" in r.namespace:
        return None
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", r.namespace) or not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", r.name):
        return None
    return f"{r.namespace}/{r.name}"


def _keep(refs: list[str]) -> list[str]:
    out: list[str] = []
    for ref in refs:
        img = hub_image(ref)
        if img and img not in out:
            out.append(img)
    return out


def compose_images(text: str) -> list[str]:
    """``image:`` values of a compose file (or of any YAML that names images so)."""
    return _keep(_COMPOSE_IMAGE.findall(text))


def _run_image(args: list[str]) -> str | None:
    """The image operand of ``docker run``/``pull``/``push`` arguments: the first non-option."""
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a.startswith("-"):
            skip = a in _RUN_OPTS_WITH_VALUE
            continue
        return a
    return None


def command_images(text: str) -> list[str]:
    """Images in ``docker push/pull/run/tag`` operands and ``docker build -t`` tags."""
    refs: list[str] = []
    for verb, rest in _DOCKER_CMD.findall(text.replace("\\\n", " ")):
        if verb == "build":
            refs += _TAG_OPT.findall(rest)
        elif verb == "tag":
            refs += rest.split()[1:2]
        else:
            img = _run_image(rest.split())
            if img:
                refs.append(img)
    return _keep(refs)


def workflow_images(text: str) -> list[str]:
    """``tags:`` values of a GitHub workflow (``docker/build-push-action``); lists and blocks too."""
    if "docker/build-push-action" not in text:
        return []
    refs: list[str] = []
    lines = text.splitlines()
    for m in _WORKFLOW_TAGS.finditer(text):
        indent, block, value = len(m.group(1)), m.group(2), m.group(3).strip()
        refs += [v for v in re.split(r"[,\s]+", value) if v]
        if block or not value:  # the values follow on more-indented lines
            start = text.count("\n", 0, m.end()) + 1
            for ln in lines[start:]:
                if ln.strip() and len(ln) - len(ln.lstrip()) <= indent:
                    break
                refs += [v for v in re.split(r"[,\s]+", ln.strip().lstrip("- ")) if v]
    return _keep(refs)


def badge_images(text: str) -> list[str]:
    """Docker Hub links and shields.io Docker badges (``hub.docker.com/r/<ns>/<name>``)."""
    return _keep([f"{ns}/{name}" for ns, name in _BADGE.findall(text)])


def evidence_kind(path: str) -> str | None:
    """Which extraction applies to a repository file, by its path; None = not evidence."""
    parts = path.split("/")
    name = parts[-1].lower()
    if parts[:2] == [".github", "workflows"] and name.endswith((".yml", ".yaml")):
        return "workflow"
    if name.startswith(("docker-compose", "compose.")) and name.endswith((".yml", ".yaml")):
        return "compose"
    if name in ("makefile", "gnumakefile") or name.endswith((".sh", ".mk")):
        return "script"
    if len(parts) == 1 and name.startswith("readme"):
        return "readme"
    return None


def images_in(path: str, text: str) -> dict[str, str]:
    """``{image: evidence}`` named by one repository file (evidence: ``compose``, ``script``,
    ``workflow``, ``readme``)."""
    kind = evidence_kind(path)
    if kind is None:
        return {}
    if kind == "compose":
        found = compose_images(text)
    elif kind == "workflow":
        found = workflow_images(text) + command_images(text)
    elif kind == "readme":
        found = command_images(text) + badge_images(text)
    else:
        found = command_images(text)
    return dict.fromkeys(found, kind)
