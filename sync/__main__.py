"""``python -m sync``: the same commands as ``segments sync``."""

from sync.cli import sync_group

if __name__ == "__main__":
    sync_group(prog_name="python -m sync")
