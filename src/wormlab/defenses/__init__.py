"""What defenders do: one module per countermeasure, registered by ``kind`` (see ``base.py``).

Scenario keys live in ``schema.py``; ``plan.py`` turns them into the kernel's arrays; docs/defenses.md
describes every kind, its trigger and what it changes.
"""
