"""HTTP to a visdom server: sessions that ignore proxies for loopback, and a visdom client with timeouts.

Used by :mod:`pt_helpers.monitor.server` (is the new server answering?) and by
:class:`~pt_helpers.monitor.VisdomMonitor` (taught in notebooks/05_cnn.ipynb). visdom's own client sends
requests without a timeout and through any ``http_proxy``; a training loop must neither hang on a
server that went away nor send 127.0.0.1 traffic to a proxy.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

import requests

__all__ = ["DEFAULT_PORT", "http_session", "is_loopback", "visdom_client"]

DEFAULT_PORT = 8097  # visdom's own default, for a server started by hand with `python -m visdom.server`


def http_session(trust_env: bool) -> requests.Session:
    """A ``requests.Session``; ``trust_env=False`` ignores proxy variables (for loopback addresses)."""
    session = requests.Session()
    session.trust_env = trust_env  # False for loopback: an http_proxy variable must not capture 127.0.0.1
    return session


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``127.x.x.x`` and ``::1``."""
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


def visdom_client(server: str, port: int, env: str, timeout: float) -> Any:
    """A ``visdom.Visdom`` whose requests time out and, for loopback, ignore proxies.

    Args:
        server: ``"http://HOST"``; port: its port; env: the default env.
        timeout: seconds to connect (reads may take up to ``max(10, timeout)`` s: an image upload).
    Returns:
        The client, raising on errors (``raise_exceptions=True``) instead of logging them.
    """
    import visdom  # imports torch and more: only when a server answered

    logging.getLogger("visdom").setLevel(logging.CRITICAL)  # it logs warnings for normal use
    trust_env = not is_loopback(urlparse(server).hostname or "")

    class Client(visdom.Visdom):
        @property
        def session(self) -> requests.Session:
            if self._session is None:
                self._session = http_session(trust_env)
            return self._session

        def _handle_post(self, url: str, data: Any = None) -> str:  # visdom's hook for every POST
            return self.session.post(url, data=data if data is not None else {},
                                     timeout=(timeout, max(10.0, timeout))).text

    return Client(server=server, port=port, env=env, raise_exceptions=True, use_incoming_socket=False)
