"""The local runtime: the same state machines and handlers, AWS APIs emulated in process."""
