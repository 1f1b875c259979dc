"""The served worker keeps its start-up objects out of the garbage collector's full collections (securechat.asgi)."""

import gc


def test_loading_the_application_freezes_what_start_up_made() -> None:
    import securechat.asgi  # noqa: F401  (what daphne loads)

    frozen = gc.get_freeze_count()
    assert frozen > 10_000, frozen  # Django, the apps and the URL patterns, not a handful of objects
