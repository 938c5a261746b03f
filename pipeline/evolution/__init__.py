"""Evolution stage: the package's per-release Dockerfiles over each project's releases.

``mldock evolution`` reads ``raw-data/Dockerfiles/samples/dockerfiles.tar.gz`` of the
replication package that ingest recorded (members read in place, never unpacked), dates each
file by its tag (``gh_tags.txt``, then ``samples/logs/tags_*.txt``), parses each distinct
content once with the project's parser (cached by content hash under ``data/cache/evolution``),
and writes ``dockerfile_versions``, ``base_image_changes`` and ``release_summary`` under
``data/processed/`` and two figures under ``reports/figures/``.  See docs/evolution.md.
"""
