"""The programs under ``programs/`` are hostile: pytest must never import them on the host (some
names would match its test-file patterns). They are only read as text and run in the sandbox."""

collect_ignore_glob = ["programs/*"]
