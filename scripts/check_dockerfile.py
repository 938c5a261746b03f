"""``make check-dockerfile``: mldock's own parser (corrected mode) reads a Dockerfile cleanly.

    python scripts/check_dockerfile.py [Dockerfile ...]

Runs the parse stage's per-file function on each file, as ``mldock parse`` would, and
exits 1 when it yields an error row, a status other than ``ok``, or BuildKit-only syntax
(a heredoc or ``RUN --mount``).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from pipeline import config, parse


def dockerfile_problems(path: Path, taxonomy_dir: Path) -> list[str]:
    """One line per problem mldock's parser reports on ``path`` in corrected mode."""
    data = path.read_bytes()
    job = parse.FileJob("mldock", path.name, hashlib.sha256(data).hexdigest(), "dockerfile", data)
    rows = parse.dockerfile_rows(job, "corrected", parse.load_taxonomies(taxonomy_dir))
    problems = [f"{path}: {e['error_type']}: {e['message']}" for e in rows["errors"]]
    problems += [f"{path}: parse_status {d['parse_status']}: {d['error']}"
                 for d in rows["dockerfiles"] if d["parse_status"] != "ok"]
    problems += [f"{path}:{i['line']}: BuildKit-only syntax in {i['instruction']} (the image "
                 "must build with the classic builder too)"
                 for i in rows["instructions"]
                 if i["heredoc"] or str(i["value"]).lstrip().startswith("--mount")]
    return problems


def main(argv: list[str]) -> int:
    taxonomy = config.paths().taxonomy
    files = [Path(a) for a in argv] or [Path("Dockerfile")]
    problems = [line for f in files for line in dockerfile_problems(f, taxonomy)]
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print(f"check-dockerfile: {', '.join(map(str, files))} parsed by mldock with no errors")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
