"""What every app builds on and that knows no app: errors, input validation, the JSON API's edge, throttles, password
hashing, Redis clients, per-event-loop objects, and the staff console's read-only base classes and paginator.

Nothing here imports ``accounts``, ``chat`` or ``securechat`` (``tests/test_layers.py`` keeps it so).
"""
