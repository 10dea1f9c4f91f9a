"""The discovery document of the service's Perspective API (``GET /$discovery/rest?version=v1alpha1``), in Google's
discovery format, so Google's own client builds against this service unchanged but for its URL::

    googleapiclient.discovery.build("commentanalyzer", "v1alpha1", developerKey=KEY,
        discoveryServiceUrl="http://HOST:PORT/$discovery/rest?version=v1alpha1", static_discovery=False)

Only what this service implements is described: ``comments.analyze`` and ``comments.suggestscore``, the ``key``
parameter, and the request and response schemas with the fields the service reads and answers.
"""

from __future__ import annotations

from typing import Any

from hatespeech.service.perspective import ATTRIBUTES, VERSION


def _object(description: str, **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": properties}


def _ref(name: str, description: str = "") -> dict[str, Any]:
    return {"$ref": name, "description": description} if description else {"$ref": name}


STRING = {"type": "string"}
LANGUAGES = {"type": "array", "items": STRING, "description": "language codes; this service supports en only"}
SCORE_TYPE = {"type": "string", "enum": ["SCORE_TYPE_UNSPECIFIED", "PROBABILITY"]}


def schemas() -> dict[str, Any]:
    attribute_names = ", ".join(ATTRIBUTES)
    definitions = {
        "TextEntry": _object("A text.", text=STRING, type={"type": "string", "enum": ["PLAIN_TEXT"]}),
        "AttributeParameters": _object(
            "How to score one attribute.",
            scoreType=SCORE_TYPE,
            scoreThreshold={"type": "number", "format": "float", "description": "leave out scores below it"},
        ),
        "Score": _object("A score.", value={"type": "number", "format": "float"}, type=SCORE_TYPE),
        "SpanScore": _object(
            "The score of one sentence (UTF-16 offsets, end exclusive).",
            begin={"type": "integer", "format": "int32"},
            end={"type": "integer", "format": "int32"},
            score=_ref("Score"),
        ),
        "AttributeScores": _object(
            "One attribute's scores.",
            summaryScore=_ref("Score"),
            spanScores={"type": "array", "items": _ref("SpanScore")},
        ),
        "AnalyzeCommentRequest": _object(
            "The comment analysis request.",
            comment=_ref("TextEntry"),
            requestedAttributes={
                "type": "object",
                "additionalProperties": _ref("AttributeParameters"),
                "description": f"attributes to score: {attribute_names}",
            },
            languages=LANGUAGES,
            spanAnnotations={"type": "boolean"},
            doNotStore={"type": "boolean"},
            clientToken=STRING,
            sessionId=STRING,
            communityId=STRING,
        ),
        "AnalyzeCommentResponse": _object(
            "The comment analysis response.",
            attributeScores={"type": "object", "additionalProperties": _ref("AttributeScores")},
            languages=LANGUAGES,
            detectedLanguages=LANGUAGES,
            clientToken=STRING,
        ),
        "SuggestCommentScoreRequest": _object(
            "A suggested score, stored as a correction for training.",
            comment=_ref("TextEntry"),
            attributeScores={"type": "object", "additionalProperties": _ref("AttributeScores")},
            languages=LANGUAGES,
            communityId=STRING,
            clientToken=STRING,
        ),
        "SuggestCommentScoreResponse": _object(
            "The suggestion's answer.", detectedLanguages=LANGUAGES, requestedLanguages=LANGUAGES, clientToken=STRING
        ),
    }
    return {name: {"id": name, **schema} for name, schema in definitions.items()}


def _method(name: str, request: str, response: str, description: str) -> dict[str, Any]:
    path = f"{VERSION}/comments:{name}"
    return {
        "id": f"commentanalyzer.comments.{name}",
        "path": path,
        "flatPath": path,
        "httpMethod": "POST",
        "description": description,
        "parameters": {},
        "parameterOrder": [],
        "request": _ref(request),
        "response": _ref(response),
    }


def discovery_document(root_url: str) -> dict[str, Any]:
    """The document, its URLs pointing at ``root_url`` (this service, as the client reached it, ending in /)."""
    methods = {
        "analyze": _method("analyze", "AnalyzeCommentRequest", "AnalyzeCommentResponse", "Scores a comment."),
        "suggestscore": _method(
            "suggestscore", "SuggestCommentScoreRequest", "SuggestCommentScoreResponse", "Stores a correction."
        ),
    }
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": f"commentanalyzer:{VERSION}",
        "name": "commentanalyzer",
        "version": VERSION,
        "title": "Perspective Comment Analyzer API, served by this project's hate speech classifier",
        "description": "Perspective's v1alpha1 API on a self-hosted model; see docs/serving.md",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "baseUrl": root_url,
        "basePath": "/",
        "batchPath": "batch",
        "parameters": {
            "key": {"type": "string", "location": "query", "description": "API key (the service's keys file)"},
            "alt": {"type": "string", "location": "query", "default": "json", "enum": ["json"]},
            "prettyPrint": {"type": "boolean", "location": "query", "default": "true"},
        },
        "resources": {"comments": {"methods": methods}},
        "schemas": schemas(),
    }
