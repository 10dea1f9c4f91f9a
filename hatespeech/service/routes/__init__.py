"""The service's routes, one ``APIRouter`` per concern:

- ``predict``: ``POST /predict`` (and :func:`~.predict.answer`, the work the demo page shares)
- ``perspective``: Perspective API's ``POST /v1alpha1/comments:analyze`` and ``:suggestscore`` (a stored
  correction), and its discovery document ``GET /$discovery/rest``
- ``page``: the demo page, ``GET /`` and its form ``POST /``
- ``model``: ``GET /model`` (what is served, how it decides, its test metrics) and ``GET /model/card``
- ``health``: ``/livez``, ``/readyz`` (alias ``/health``) and ``/metrics`` (Prometheus), open to all
"""
