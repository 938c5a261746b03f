"""The collect stage: mine GitHub and Docker Hub as they are today (issue 6).

``github`` (HTTP client: cache, rate limits, retries), ``search`` (steps 1-2),
``metadata`` and ``criteria`` (steps 3-4), ``files`` (step 5), ``dockerhub`` (step 6),
``run`` (orchestration and step 7, normalising into the interim layout ingest writes),
``cli`` (``mldock collect``).
"""
