"""Pure core: parsing, reading and the study's policies; no file or network I/O, no click, no stage imports."""
