"""web.App remembers which handlers are plain functions, and still hands coroutines to Flask's async support."""

from shared import web


def test_plain_functions_run_as_they_are_and_coroutines_go_to_async_to_sync(monkeypatch):
    app = web.App("t")
    wrapped = []
    monkeypatch.setattr(app, "async_to_sync", lambda func: wrapped.append(func) or "wrapped")

    def plain():
        return 1

    async def coroutine():
        return 2

    class View:
        def post(self):
            return 3

    for _ in range(2):  # asked, then remembered: the same answer both times
        assert app.ensure_sync(plain) is plain
        assert app.ensure_sync(coroutine) == "wrapped"
        bound = View().post  # a new bound method each time, as MethodView makes them
        assert app.ensure_sync(bound) is bound
    assert wrapped == [coroutine, coroutine]
    assert len(app._plain) == 3  # one entry per function, not per bound method
