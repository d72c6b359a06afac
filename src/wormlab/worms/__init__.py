"""What a worm does: how it picks addresses (scan strategies) and how fast each host scans.

Each scan strategy is one file with its scenario schema (a pydantic model with a ``kind``) and
the arrays it hands to the compiled engine; ``registry.SCAN_STRATEGIES`` maps kind to model.
"""
