"""Pure code: no file or network I/O, no click, no pandas/requests, no stage imports."""
