"""One module per claim. Each exposes ``PROFILES`` (a frozen config per profile) and
``run(config, ctx) -> dict`` of plain data; importing one does no work."""
