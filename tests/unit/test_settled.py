"""The worker's settled gunicorn Config answers as gunicorn's Config does."""

import pytest
from gunicorn.config import Config

from shared.gunicorn_worker import _Settled


def test_settled_config_answers_every_setting_and_property_as_config():
    cfg = Config()
    cfg.set("keepalive", 30)
    cfg.set("threads", 4)
    settled = _Settled(cfg)
    for name in cfg.settings:
        assert getattr(settled, name) == getattr(cfg, name), name
    assert settled.keepalive == 30 and settled.threads == 4
    assert settled.is_ssl == cfg.is_ssl and not settled.is_ssl
    assert "keepalive" in vars(settled)  # kept: the next lookup is a plain attribute
    assert settled.settings is cfg.settings
    with pytest.raises(AttributeError):
        settled.no_such_setting  # noqa: B018 - the lookup is the test
