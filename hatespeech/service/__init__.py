"""The HTTP service (FastAPI), assembled as the FastAPI template does:

- ``main``: ``create_app`` (uvicorn's factory): the shared objects, the middleware and the routers
- ``settings``: the one settings class (pydantic-settings, ``HATESPEECH_*``); ``schemas``: request and response
  bodies (Pydantic); ``deps``: the shared objects as ``Annotated[..., Depends(...)]`` aliases
- ``routes``: one router per concern (predict, the demo page, the model, health and metrics)
- ``inputs``: request bodies read within a size bound and checked against the limits; ``page``: the demo page's HTML
- ``perspective`` and ``discovery``: Perspective API's v1alpha1 requests, answers, errors and discovery document
  (their router is ``routes/perspective``)
- ``policies``: which moderation policy answers a request (the request's, its API key's, the service's default)
- ``batching``: the micro-batcher; ``access``: API keys (hashes only) and rate limits; ``operations``: Prometheus
  metrics, the JSON access log, and the middleware that guards every route
- ``serve``: ``hatespeech-serve`` (uvicorn, ready for a network)
"""
