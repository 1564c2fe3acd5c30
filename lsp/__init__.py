"""The language server: LSP in, fill-in-the-middle requests out (see server.py for the wiring).

A keystroke's path: server.py (handler) -> completion.py (cache, debounce, cancel, post-process)
-> engines.py or remote.py (the engine, in process or in the shared daemon) -> back as an item.
"""
