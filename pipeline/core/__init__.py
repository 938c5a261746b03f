"""Pure core: no file or network I/O, no click, no pandas, no stage imports."""
