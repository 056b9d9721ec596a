# A txhbase daemon: run it with
#
#     twistd -n -y examples/daemon.tac        (foreground; drop -n to daemonize)
#
# and stop it with SIGTERM (Ctrl-C in the foreground): calls in flight finish
# within the grace period, then the pool closes.  Settings come from the
# environment; see examples/daemon_app.py.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from daemon_app import make_application  # noqa: E402

application = make_application(os.environ)
