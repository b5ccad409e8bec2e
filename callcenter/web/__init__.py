"""The web layer: JSON API, websockets and the agent / wallboard pages.

It depends only on ``callcenter.ports``; ``create_web_app`` is given a desk, a hub
and an authenticator by the composition root.
"""

from callcenter.web.app import create_web_app
from callcenter.web.hub import Hub

__all__ = ["Hub", "create_web_app"]
