"""Watch training live in visdom: a local server, and a ``fit`` callback that plots into it.

Taught in notebooks/05_cnn.ipynb::

    server = start_visdom()                 # prints the URL to open; or: with start_visdom() as server:
    monitor = VisdomMonitor(server, env="cnn")
    history = fit(model, train_loader, val_loader, ..., callbacks=[monitor])
    monitor.images(x[:16], title="inputs"); monitor.text("done", title="notes")
    server.stop()

What a learner reads is :mod:`.callback` (:class:`VisdomMonitor`: the hooks, the curves, the matplotlib
fallback when no server answers). The plumbing sits beside it:

- :mod:`.server` - :func:`start_visdom` / :class:`VisdomServer`: the ``python -m visdom.server`` process
  on 127.0.0.1 and a free port;
- :mod:`.client` - HTTP sessions and a visdom client that time out and keep loopback traffic off proxies;
- :mod:`.assets` - visdom 0.2.4 downloads its web assets from CDNs when its server starts and crashes
  without network: the pinned list of those files and the check that they are installed
  (``scripts/visdom_assets.py install``, run by ``make setup``, provisions them from npm).
"""

from .assets import assets_ready
from .callback import VisdomMonitor
from .client import DEFAULT_PORT
from .server import VisdomServer, start_visdom

__all__ = ["VisdomServer", "start_visdom", "VisdomMonitor", "assets_ready", "DEFAULT_PORT"]
