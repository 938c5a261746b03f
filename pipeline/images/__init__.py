"""Images stage (RQ4): Table 2 and Figure 5 inputs, from two sources.

* **replication package** (``mldock images --replication``, :mod:`.package`): Table 2
  from the package's manifest rows and Figure 5 inputs (:mod:`.figure5`), from the interim
  tables ingest wrote; no network.
* **live** (``mldock images --image REF`` or ``--from-repos``, :mod:`.live`): manifests,
  configs and layers through the registry HTTP API (:mod:`.registry`, :mod:`.manifests`),
  layers scanned as streams (:mod:`.layers`), files classified (:mod:`.file_types`).

Both paths group repositories by category into Table 2 in :mod:`.table2`.
"""
